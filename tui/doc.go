// Package tui holds bob's terminal views: bubbletea models over the events a
// transfer emits, with every lipgloss style in one place (styles.go).
//
// A View shows one transfer. There are three:
//
//   - NewTUI draws below the cursor (no alternate screen) with one model per
//     screen — waiting (code, receive command, QR code, connection steps),
//     offer prompt, progress and summary — routed by a top model. The live
//     view never draws wider or taller than the window and clears the
//     screen when the window is resized, so no stale copy of it stays
//     behind; the summary or the error is printed after the program ends
//     and stays in the terminal. A tick each second lets the progress
//     screen show a stall ("stalled, waiting for data (12s)") when no
//     event comes.
//   - NewPlain prints plain lines with no escape sequences, for pipes, CI
//     logs and --plain. The sender's first line is exactly "code: CODE".
//     A stall gets one line of its own.
//   - NewJSON prints one JSON object per line for each event (see NewJSON
//     for the field names), for scripts.
//
// The views hold no protocol logic: they show transfer events, ask Accept
// and report Close. Every string that came from the peer (paths, text,
// reasons) goes through internal/safeterm.Escape before it is shown, in
// every mode, JSON included.
//
// PromptCode reads a code from the keyboard with tab completion of words,
// so the code never has to be an argument visible in the process list.
package tui
