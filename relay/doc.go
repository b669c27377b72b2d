// Package relay is the server two peers meet at: it pairs a sender and a
// receiver by nameplate and forwards bytes it cannot read between them.
//
// The rendezvous exchange is defined in package rendezvous. Once paired, the
// two TCP connections are spliced together (on Linux the bytes never enter
// user space), half-closes are passed on, and every connection ends: a
// hello deadline, a waiting timeout, an idle timeout and graceful shutdown
// bound each phase. Limits (total and per-address connections, a per-address
// rate, waiting senders) come from [Config]; a [Server] keeps its metrics in
// its own Prometheus registry, so several can run in one process.
//
//	srv := relay.New(relay.DefaultConfig())
//	err := srv.Serve(ctx, ln) // returns once ctx ends and shutdown is done
package relay
