package tui

import (
	"context"
	"errors"
	"fmt"
	"github.com/bob-p2p/bob/internal/safeterm"
	"os"
	"sync"

	"github.com/bob-p2p/bob/transfer"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// errUIStopped is what Accept returns when the program is gone (a second
// Ctrl-C, or the terminal could not be set up).
var errUIStopped = errors.New("the terminal view stopped before the offer was answered")

// tuiView runs a bubbletea program over Options.Out and feeds it events.
type tuiView struct {
	opts    Options
	prog    *tea.Program
	done    chan struct{} // closed when the program has ended
	final   model         // the last model, valid after done
	runErr  error
	closing sync.Once
}

// NewTUI starts the full-screen-free terminal view: it draws below the
// cursor and leaves its last screen (the summary) in the scrollback.
func NewTUI(opts Options) View {
	return newTUI(opts, true)
}

func newTUI(opts Options, animate bool) *tuiView {
	out := opts.Out
	if out == nil {
		out = os.Stderr
	}
	opts.Out = out
	r := lipgloss.NewRenderer(out)
	v := &tuiView{opts: opts, done: make(chan struct{})}
	cfg := newConfig(opts, r, animate)
	cfg.stop = v.done
	m := newModel(cfg)
	v.prog = tea.NewProgram(m,
		tea.WithInput(opts.In),
		tea.WithOutput(out),
		tea.WithFilter(filterSignals),
	)
	go v.run()
	return v
}

func (v *tuiView) run() {
	defer close(v.done)
	final, err := v.prog.Run()
	if m, ok := final.(model); ok {
		v.final = m
	}
	v.runErr = err
}

// filterSignals turns bubbletea's handling of SIGINT (InterruptMsg) and
// SIGTERM (a QuitMsg the model did not ask for) into the same clean cancel
// as Ctrl-C, instead of letting the program stop under the transfer.
func filterSignals(m tea.Model, msg tea.Msg) tea.Msg {
	switch msg.(type) {
	case tea.InterruptMsg:
		return interruptMsg{}
	case tea.QuitMsg:
		if mm, ok := m.(model); ok && !mm.quitting {
			return interruptMsg{}
		}
	}
	return msg
}

func (v *tuiView) Event(e transfer.Event) {
	if e == nil {
		return
	}
	v.prog.Send(eventMsg{e})
}

func (v *tuiView) Accept(ctx context.Context, offer transfer.OfferReceived) (bool, error) {
	r := v.ask(ctx, offerMsg{offer: offer})
	return r.ok, r.err
}

func (v *tuiView) ChooseClash(ctx context.Context, offer transfer.OfferReceived) (transfer.ClashChoice, error) {
	r := v.ask(ctx, offerMsg{offer: offer, clash: true})
	if r.err != nil {
		return transfer.ClashCancel, r.err
	}
	return r.choice, nil
}

// ask shows the offer screen of msg and waits for its answer.
func (v *tuiView) ask(ctx context.Context, msg offerMsg) acceptReply {
	if err := ctx.Err(); err != nil {
		return acceptReply{err: err}
	}
	reply := make(chan acceptReply, 1)
	msg.reply = reply
	v.prog.Send(msg)
	select {
	case r := <-reply:
		return r
	case <-ctx.Done():
		v.prog.Send(dismissOfferMsg{reply: reply})
		return acceptReply{err: ctx.Err()}
	case <-v.done:
		select {
		case r := <-reply:
			return r
		default:
			return acceptReply{err: errUIStopped}
		}
	}
}

func (v *tuiView) Close(err error) {
	v.closing.Do(func() {
		v.prog.Send(closeMsg{err: err})
		<-v.done
		if v.final.closed {
			fmt.Fprint(v.opts.Out, v.final.finalText())
			return
		}
		// The program ended before it could show the end (a second Ctrl-C,
		// or no terminal): say it in one plain line.
		if err != nil {
			fmt.Fprintf(v.opts.Out, "error: %s\n", v.opts.describe(err))
		} else if v.runErr != nil {
			fmt.Fprintf(v.opts.Out, "done (the terminal view failed: %s)\n", safeterm.Escape(v.runErr.Error()))
		}
	})
}

var _ View = (*tuiView)(nil)
