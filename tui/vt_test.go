package tui

import (
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// vterm is a small terminal for tests: it keeps a screen and a scrollback,
// understands the few sequences bubbletea's inline renderer writes, and on
// a resize rewraps and scrolls its lines as tmux does. That is what leaves
// stale copies of a view behind when a program redraws by moving up the
// lines it believes it drew.
type vterm struct {
	mu      sync.Mutex
	w, h    int
	history []vrow
	screen  []vrow
	x, y    int
	pending []byte // an incomplete sequence or rune, kept for the next Write
}

// vrow is one row; wrapped says the line goes on in the next row.
type vrow struct {
	cells   []rune
	wrapped bool
}

func newVterm(w, h int) *vterm {
	return &vterm{w: w, h: h, screen: make([]vrow, h)}
}

func (t *vterm) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := append(t.pending, p...)
	t.pending = nil
	for len(b) > 0 {
		n := t.step(b)
		if n == 0 { // incomplete: wait for more
			t.pending = append([]byte(nil), b...)
			break
		}
		b = b[n:]
	}
	return len(p), nil
}

// step consumes one character or sequence from b and returns its length,
// or 0 if b holds only part of it.
func (t *vterm) step(b []byte) int {
	switch b[0] {
	case '\r':
		t.x = 0
		return 1
	case '\n':
		t.lineFeed()
		return 1
	case 0x1b:
		if len(b) < 2 {
			return 0
		}
		switch b[1] {
		case '[':
			for i := 2; i < len(b); i++ {
				if b[i] >= 0x40 && b[i] <= 0x7e {
					t.csi(string(b[2:i]), b[i])
					return i + 1
				}
			}
			return 0
		case ']': // OSC: up to BEL or ST
			for i := 2; i < len(b); i++ {
				if b[i] == 0x07 {
					return i + 1
				}
				if b[i] == 0x1b && i+1 < len(b) && b[i+1] == '\\' {
					return i + 2
				}
			}
			return 0
		}
		return 2
	}
	if b[0] < 0x20 {
		return 1
	}
	if !utf8.FullRune(b) {
		return 0
	}
	r, n := utf8.DecodeRune(b)
	t.put(r)
	return n
}

func (t *vterm) put(r rune) {
	if t.x >= t.w { // the deferred wrap of a full line
		t.screen[t.y].wrapped = true
		t.lineFeed()
		t.x = 0
	}
	row := &t.screen[t.y]
	for len(row.cells) <= t.x {
		row.cells = append(row.cells, ' ')
	}
	row.cells[t.x] = r
	t.x++
}

func (t *vterm) lineFeed() {
	if t.y < t.h-1 {
		t.y++
		return
	}
	t.history = append(t.history, t.screen[0])
	t.screen = append(t.screen[1:], vrow{})
}

func (t *vterm) csi(params string, final byte) {
	if strings.HasPrefix(params, "?") {
		return // modes: cursor, bracketed paste
	}
	args := strings.Split(params, ";")
	arg := func(i, def int) int {
		if i < len(args) {
			if n, err := strconv.Atoi(args[i]); err == nil {
				return n
			}
		}
		return def
	}
	switch final {
	case 'A':
		t.y = max(0, t.y-max(1, arg(0, 1)))
	case 'B':
		t.y = min(t.h-1, t.y+max(1, arg(0, 1)))
	case 'H':
		t.y, t.x = min(t.h, max(1, arg(0, 1)))-1, min(t.w, max(1, arg(1, 1)))-1
	case 'K':
		row := &t.screen[t.y]
		switch arg(0, 0) {
		case 0:
			row.cells = row.cells[:min(len(row.cells), t.x)]
		case 2:
			row.cells = nil
		}
		row.wrapped = false
	case 'J':
		switch arg(0, 0) {
		case 0:
			t.screen[t.y].cells = t.screen[t.y].cells[:min(len(t.screen[t.y].cells), t.x)]
			for i := t.y + 1; i < t.h; i++ {
				t.screen[i] = vrow{}
			}
		case 2:
			t.screen = make([]vrow, t.h)
		}
	}
}

// resize rewraps every line to w columns and shows the last h rows that
// end at the cursor's row or below, taking rows back from the scrollback
// when the window grows, as tmux does.
func (t *vterm) resize(w, h int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	all := append(append([]vrow(nil), t.history...), t.screen...)
	cursorRow, cursorCol := len(t.history)+t.y, t.x
	var rows []vrow
	newCursor := 0
	for i := 0; i < len(all); {
		var line []rune
		start := i
		for ; i < len(all); i++ {
			line = append(line, all[i].cells...)
			if !all[i].wrapped {
				i++
				break
			}
		}
		first := len(rows)
		for len(line) > w {
			rows = append(rows, vrow{cells: line[:w], wrapped: true})
			line = line[w:]
		}
		rows = append(rows, vrow{cells: line})
		if cursorRow >= start && cursorRow < i {
			offset := (cursorRow-start)*t.w + cursorCol
			newCursor = min(first+offset/w, len(rows)-1)
			cursorCol = offset % w
		}
	}
	// Empty rows below the cursor go first.
	last := len(rows) - 1
	for last > newCursor && len(rows[last].cells) == 0 {
		last--
	}
	rows = rows[:last+1]
	top := max(0, len(rows)-h)
	t.history = rows[:top]
	t.screen = append(rows[top:len(rows):len(rows)], make([]vrow, h-(len(rows)-top))...)
	t.w, t.h = w, h
	t.x, t.y = min(cursorCol, w), newCursor-top
}

// text is the scrollback and the screen, trailing spaces trimmed.
func (t *vterm) text() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return rowsText(append(append([]vrow(nil), t.history...), t.screen...))
}

// screenText is what the window shows.
func (t *vterm) screenText() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return rowsText(t.screen)
}

func rowsText(rows []vrow) string {
	var lines []string
	for _, r := range rows {
		lines = append(lines, strings.TrimRight(string(r.cells), " "))
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}
