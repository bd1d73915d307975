"""One way to serve HTTPS on loopback for the control plane's helpers (the fault proxy,
the kubelet stand-in, the sidecar-injector stand-in): a certificate of the control
plane's CA, a thread per connection, a background thread serving."""
import ssl
import threading
from http.server import ThreadingHTTPServer


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, handler, crt, key, name, **attributes):
        """Serve ``handler`` at once; ``attributes`` become the server's, for the handler to read."""
        super().__init__(("127.0.0.1", 0), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(crt, key)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        for key_, value in attributes.items():
            setattr(self, key_, value)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name=name).start()

    @property
    def port(self):
        return self.server_address[1]

    def handle_error(self, request, client_address):
        pass  # a client that went away

    def stop(self):
        self.shutdown()
        self.server_close()
