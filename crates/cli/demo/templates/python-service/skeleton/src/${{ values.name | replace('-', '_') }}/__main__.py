"""${{ values.description }}"""

from http.server import BaseHTTPRequestHandler, HTTPServer
import os

PORT = int(os.environ.get("PORT", "${{ values.port }}"))


class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()


if __name__ == "__main__":
    HTTPServer(("0.0.0.0", PORT), Health).serve_forever()
