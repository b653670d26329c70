"""Asks Orthanc for /system through the TLS front, as a client does: TLS to the front's address
with its server name (SNI and certificate check against the given CA file). Prints the status
line and whether the answer came from Orthanc (its JSON, or its 401 realm); exits 1 otherwise.

    python3 front_probe.py SERVER_NAME ADDRESS PORT CA_FILE"""

import socket
import ssl
import sys

name, address, port, ca = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
context = ssl.create_default_context(cafile=ca)
with socket.create_connection((address, port), timeout=10) as raw, \
        context.wrap_socket(raw, server_hostname=name) as tls:
    tls.sendall(f"GET /system HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        chunk = tls.recv(65536)
        if not chunk:
            break
        data += chunk
head, _sep, body = data.partition(b"\r\n\r\n")
status = head.split(b"\r\n", 1)[0].decode()
from_orthanc = b'realm="Orthanc' in head or b'"DicomAet"' in body
print(status)
print("from Orthanc" if from_orthanc else "not from Orthanc")
sys.exit(0 if from_orthanc and (" 200 " in status or " 401 " in status) else 1)
