package appliance

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/bob-p2p/bob/relay"
)

// ModulesDir is where the image keeps the kernel modules it loads at boot.
const ModulesDir = "/lib/modules"

// IsInit reports whether this process is the init of an appliance image:
// PID 1 started by the kernel as /init from an initramfs. A container's
// PID 1 is not started as /init, so bob as a container entrypoint is never
// mistaken for the appliance.
func IsInit() bool {
	return os.Getpid() == 1 && len(os.Args) > 0 && os.Args[0] == "/init"
}

// Boot brings the machine up for the relay and returns the settings read
// from the kernel command line. Each step's error says which step failed.
func Boot(ctx context.Context, log *slog.Logger) (Config, error) {
	start := time.Now()
	if err := mountPseudoFS(); err != nil {
		return Config{}, err
	}
	log.Info("appliance starting", "uptime", uptime())
	// The first getrandom blocks until the kernel's generator is seeded.
	// Doing it here, once, makes the wait visible at one place instead of
	// stalling crypto somewhere in the relay.
	var seed [16]byte
	if _, err := unix.Getrandom(seed[:], 0); err != nil {
		return Config{}, fmt.Errorf("waiting for the kernel's random number generator: %w", err)
	}
	raw, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return Config{}, fmt.Errorf("reading the kernel command line: %w", err)
	}
	cfg, err := ParseCmdline(strings.TrimSpace(string(raw)))
	if err != nil {
		return Config{}, err
	}
	// Ctrl-Alt-Del (or a hypervisor's equivalent) now sends SIGINT to
	// PID 1 instead of rebooting at once, so the relay can stop cleanly.
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF); err != nil {
		log.Warn("cannot route Ctrl-Alt-Del to the relay", "err", err)
	}
	// The kernel starts PID 1 with 4,096 open files at most, fewer than
	// the relay's default connection cap needs; as root it may take the
	// system's ceiling.
	if n, err := relay.RaiseFDLimit(nrOpen()); err != nil {
		log.Warn("cannot raise the open-file limit", "err", err)
	} else {
		log.Info("open-file limit", "nofile", n)
	}
	mods, err := LoadModules(ModulesDir)
	if err != nil {
		return Config{}, err
	}
	log.Info("kernel modules loaded", "modules", strings.Join(mods, ","))
	hostSide, err := configureNetwork(ctx, cfg, log)
	if err != nil {
		return Config{}, err
	}
	cfg.RelayArgs = RestrictMetrics(cfg.RelayArgs, hostSide)
	total, avail := meminfo()
	log.Info("appliance up", "took", time.Since(start).Round(time.Millisecond), "uptime", uptime(),
		"mem_total_kib", total, "mem_available_kib", avail)
	return cfg, nil
}

func mountPseudoFS() error {
	mounts := []struct{ source, target, fstype string }{
		{"devtmpfs", "/dev", "devtmpfs"},
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", m.target, err)
		}
		flags := uintptr(unix.MS_NOSUID | unix.MS_NOEXEC)
		err := unix.Mount(m.source, m.target, m.fstype, flags, "")
		if err != nil && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("mounting %s on %s: %w", m.fstype, m.target, err)
		}
	}
	return nil
}

// LoadModules loads every .ko file in dir, each after the modules its
// .modinfo says it depends on, and returns their names in load order. A
// module the kernel already has is not an error.
func LoadModules(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.ko"))
	if err != nil {
		return nil, err
	}
	mods := make([]Module, 0, len(paths))
	for _, p := range paths {
		m, err := readModuleFile(p)
		if err != nil {
			return nil, err
		}
		mods = append(mods, m)
	}
	order, err := LoadOrder(mods)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(order))
	for _, m := range order {
		if err := finitModule(m.Path); err != nil {
			return names, fmt.Errorf("loading kernel module %s: %w", m.Name, err)
		}
		names = append(names, m.Name)
	}
	return names, nil
}

func readModuleFile(path string) (Module, error) {
	f, err := os.Open(path)
	if err != nil {
		return Module{}, err
	}
	defer f.Close()
	return ReadModule(f, path)
}

func finitModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	err = unix.FinitModule(int(f.Fd()), "", 0)
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
}

// linkWait bounds how long the network driver may take to create the
// interface after its module is loaded.
const linkWait = 10 * time.Second

// configureNetwork brings the network up and returns the host side: the
// default gateway, or with DHCP and no gateway (qemu's restricted user
// network names none) the DHCP server, which is then the hypervisor.
func configureNetwork(ctx context.Context, cfg Config, log *slog.Logger) (netip.Addr, error) {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return netip.Addr{}, fmt.Errorf("finding the loopback interface: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return netip.Addr{}, fmt.Errorf("bringing up the loopback interface: %w", err)
	}
	link, err := waitLink(ctx, cfg.Interface)
	if err != nil {
		return netip.Addr{}, err
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return netip.Addr{}, fmt.Errorf("bringing up %s: %w", cfg.Interface, err)
	}
	addr, gw := cfg.Address, cfg.Gateway
	hostSide := gw
	how := "static"
	if cfg.DHCP() {
		how = "dhcp"
		lease, err := requestLease(ctx, cfg.Interface, link.Attrs().HardwareAddr)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("configuring %s by DHCP: %w", cfg.Interface, err)
		}
		addr, _ = lease.Prefix()
		gw, hostSide = lease.Router, lease.Router
		if !hostSide.IsValid() {
			hostSide = lease.ServerID
		}
		log.Info("DHCP lease", "server", lease.ServerID, "lease", lease.Lease)
	}
	if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: prefixIPNet(addr)}); err != nil {
		return netip.Addr{}, fmt.Errorf("adding address %s to %s: %w", addr, cfg.Interface, err)
	}
	if gw.IsValid() {
		route := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: gw.AsSlice()}
		if !addr.Contains(gw) {
			route.Flags = int(netlink.FLAG_ONLINK)
		}
		if err := netlink.RouteAdd(route); err != nil {
			return netip.Addr{}, fmt.Errorf("adding default route via %s: %w", gw, err)
		}
	}
	log.Info("network up", "iface", cfg.Interface, "addr", addr, "gw", gw, "by", how)
	return hostSide, nil
}

func waitLink(ctx context.Context, name string) (netlink.Link, error) {
	ctx, cancel := context.WithTimeout(ctx, linkWait)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		link, err := netlink.LinkByName(name)
		if err == nil {
			return link, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("network interface %s did not appear within %s (interfaces: %s): %w",
				name, linkWait, strings.Join(linkNames(), ", "), err)
		case <-tick.C:
		}
	}
}

func linkNames() []string {
	links, err := netlink.LinkList()
	if err != nil {
		return nil
	}
	var names []string
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	slices.Sort(names)
	return names
}

func prefixIPNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), bits)}
}

// nrOpen is the most open files the kernel lets a process have
// (fs.nr_open), or its default when that cannot be read.
func nrOpen() uint64 {
	const def = 1 << 20
	b, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		return def
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n == 0 {
		return def
	}
	return n
}

// uptime is the time since the kernel started, as /proc/uptime tells it.
func uptime() time.Duration {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0
	}
	var secs float64
	if _, err := fmt.Sscanf(string(b), "%f", &secs); err != nil {
		return 0
	}
	return time.Duration(secs * float64(time.Second)).Round(time.Millisecond)
}

// meminfo returns MemTotal and MemAvailable in KiB, or zeros.
func meminfo() (total, avail int64) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		var n int64
		if _, err := fmt.Sscanf(s.Text(), "MemTotal: %d kB", &n); err == nil {
			total = n
		}
		if _, err := fmt.Sscanf(s.Text(), "MemAvailable: %d kB", &n); err == nil {
			avail = n
		}
	}
	return total, avail
}

// PowerOff flushes file systems and powers the machine off. It returns only
// if the kernel refused, after which the caller exits and the kernel panics
// (with panic=-1 on the command line, the VM then resets and qemu
// -no-reboot ends).
func PowerOff(log *slog.Logger) {
	unix.Sync()
	err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	log.Error("power off failed", "err", err)
}
