"""The SIP layer of GB/T 28181 (docs/design/gb28181.md): messages, digest, transports, the server."""
