// Command fakebob imitates bob's relay, send and recv command lines with a
// trivial unencrypted protocol, so that the benchmark's process handling can
// be tested without bob. It is not bob and measures nothing of bob's.
//
// Set FAKEBOB_CORRUPT=1 in the receiver to flip one received byte.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: fakebob relay|send|recv|version"))
	}
	var err error
	switch os.Args[1] {
	case "version":
		fmt.Println("bob fake")
	case "relay":
		err = relay(os.Args[2:])
	case "send":
		err = send(os.Args[2:])
	case "recv":
		err = recv(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "fakebob:", err)
	os.Exit(1)
}

func relay(args []string) error {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	listen := fs.String("listen", "", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	go func() { <-sig; ln.Close() }()
	var mu sync.Mutex
	waiting := map[string]net.Conn{}
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil // closed by SIGTERM
		}
		go func() {
			line, err := readLine(c)
			if err != nil {
				c.Close()
				return
			}
			role, nameplate, _ := strings.Cut(line, " ")
			mu.Lock()
			peer := waiting[nameplate]
			switch {
			case role == "S" && peer == nil:
				waiting[nameplate] = c
				mu.Unlock()
				fmt.Fprint(c, "OK\n")
				return
			case role == "R" && peer != nil:
				delete(waiting, nameplate)
				mu.Unlock()
			default:
				mu.Unlock()
				fmt.Fprint(c, "ERR\n")
				c.Close()
				return
			}
			fmt.Fprint(peer, "PAIRED\n")
			fmt.Fprint(c, "PAIRED\n")
			var wg sync.WaitGroup
			wg.Add(2)
			pipe := func(dst, src net.Conn) {
				defer wg.Done()
				io.Copy(dst, src)
				dst.(*net.TCPConn).CloseWrite()
			}
			go pipe(peer, c)
			go pipe(c, peer)
			wg.Wait()
			peer.Close()
			c.Close()
		}()
	}
}

// readLine reads one short line byte by byte, so nothing after it is lost.
func readLine(r io.Reader) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for len(b) < 256 {
		if _, err := io.ReadFull(r, one); err != nil {
			return "", err
		}
		if one[0] == '\n' {
			return string(b), nil
		}
		b = append(b, one[0])
	}
	return "", fmt.Errorf("line too long")
}

type common struct {
	fs       *flag.FlagSet
	relay    string
	plain    bool
	code     string
	compress string
	yes      bool
	out      string
}

func parse(name string, args []string) (*common, error) {
	c := &common{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	c.fs.StringVar(&c.relay, "relay", "", "")
	c.fs.BoolVar(&c.plain, "plain", false, "")
	c.fs.StringVar(&c.code, "code", "", "")
	c.fs.StringVar(&c.compress, "compress", "auto", "")
	c.fs.BoolVar(&c.yes, "yes", false, "")
	c.fs.StringVar(&c.out, "out", ".", "")
	c.fs.Bool("no-discovery", false, "")
	c.fs.Bool("no-direct", false, "")
	return c, c.fs.Parse(args)
}

func dial(c *common, role, code string) (net.Conn, error) {
	nameplate, _, _ := strings.Cut(code, "-")
	conn, err := net.Dial("tcp", c.relay)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(conn, "%s %s\n", role, nameplate)
	return conn, nil
}

func expect(conn net.Conn, want string) error {
	got, err := readLine(conn)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("relay said %q, want %q", got, want)
	}
	return nil
}

func send(args []string) error {
	c, err := parse("send", args)
	if err != nil {
		return err
	}
	if c.fs.NArg() != 1 {
		return fmt.Errorf("one path please")
	}
	root := c.fs.Arg(0)
	conn, err := dial(c, "S", c.code)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := expect(conn, "OK"); err != nil {
		return err
	}
	fmt.Printf("code: %s\n", c.code)
	if err := expect(conn, "PAIRED"); err != nil {
		return err
	}
	w := bufio.NewWriterSize(conn, 256<<10)
	base := filepath.Dir(root)
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(base, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "F %d %s\n", info.Size(), filepath.ToSlash(rel))
		_, err = io.Copy(w, f)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprint(w, "E\n")
	if err := w.Flush(); err != nil {
		return err
	}
	return expect(conn, "DONE")
}

func recv(args []string) error {
	c, err := parse("recv", args)
	if err != nil {
		return err
	}
	if c.fs.NArg() != 1 {
		return fmt.Errorf("one code please")
	}
	conn, err := dial(c, "R", c.fs.Arg(0))
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := expect(conn, "PAIRED"); err != nil {
		return err
	}
	r := bufio.NewReaderSize(conn, 256<<10)
	corrupt := os.Getenv("FAKEBOB_CORRUPT") == "1"
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "E" {
			break
		}
		sizeText, rel, ok := strings.Cut(strings.TrimPrefix(line, "F "), " ")
		size, err := strconv.ParseInt(sizeText, 10, 64)
		if !ok || err != nil || strings.Contains(rel, "..") {
			return fmt.Errorf("bad header %q", line)
		}
		dst := filepath.Join(c.out, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		f, err := os.Create(dst + ".bob-part")
		if err != nil {
			return err
		}
		if _, err := io.CopyN(f, r, size); err != nil {
			f.Close()
			return err
		}
		if corrupt && size > 0 {
			corrupt = false
			b := make([]byte, 1)
			f.ReadAt(b, 0)
			b[0] ^= 1
			f.WriteAt(b, 0)
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.Rename(dst+".bob-part", dst); err != nil {
			return err
		}
	}
	_, err = fmt.Fprint(conn, "DONE\n")
	return err
}
