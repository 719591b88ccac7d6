"""A minimal token issuer for distribution's `token` auth (docker registry v2 token spec).

    python3 token_server.py KEY.pem CERT.pem USER PASSWORD

Listens on a free 127.0.0.1 port (printed on the first stdout line). GET /token with
Basic USER:PASSWORD and `service`/`scope` parameters answers {"token": JWT} granting the
requested actions; anything else is 401. The JWT is RS256-signed with `openssl dgst`, and
carries the certificate in `x5c` so the registry checks it against its rootcertbundle.
"""
import base64, json, ssl, subprocess, sys, time, uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

KEY, CERT, USER, PASSWORD = sys.argv[1:5]
with open(CERT) as f:
    CERT_DER = ssl.PEM_cert_to_DER_cert(f.read())


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(message):
    out = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", KEY], input=message, capture_output=True, check=True
    )
    return out.stdout


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urlparse(self.path)
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if url.path != "/token" or self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}')
            return
        query = parse_qs(url.query)
        access = []
        for scope in query.get("scope", []):
            kind, name, actions = scope.split(":", 2) if scope.count(":") >= 2 else ("", "", "")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {
            "iss": "plugpack-test-issuer",
            "sub": USER,
            "aud": query.get("service", [""])[0],
            "exp": now + 600,
            "nbf": now - 60,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "access": access,
        }
        header = {"alg": "RS256", "typ": "JWT", "x5c": [base64.b64encode(CERT_DER).decode()]}
        signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
        token = signing_input.decode() + "." + b64url(sign(signing_input))
        body = json.dumps({"token": token, "expires_in": 600}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
