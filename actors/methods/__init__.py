"""The protocol's methods by family: one module each (docs/protocol.md lists them).

Every family module offers ``handlers(ctx) -> {method name: handler}`` over a
:class:`~gnomon.actors.methods.context.MethodContext`; a handler takes the
:class:`~gnomon.runtime.protocol_access.Caller` and the structured params and returns a
protocol type. :class:`~gnomon.actors.service.Service` merges the families into the gateway's
table. The families read and write through the engine and the
:class:`~gnomon.runtime.store.Store` protocol, never a concrete store.
"""
