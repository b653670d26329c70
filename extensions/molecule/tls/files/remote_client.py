"""What a client on another host sees of the Orthanc host (molecule scenario tls). Prints one JSON
object with every result; the verify playbook asserts on it.

    python3 remote_client.py HOST CA CLIENT_CERT CLIENT_KEY DICOM_DIR
The Orthanc password comes in the environment (ORTHANC_PASSWORD)."""

import json
import os
import socket
import ssl
import subprocess
import sys
import uuid

import requests

host, ca, client_cert, client_key, dicom_dir = sys.argv[1:6]
auth = ("admin", os.environ["ORTHANC_PASSWORD"])
base = f"https://{host}"
files = sorted(os.path.join(dicom_dir, f) for f in os.listdir(dicom_dir) if f.endswith(".dcm"))
out = {}
s = requests.Session()
s.auth, s.verify, s.trust_env = auth, ca, False

# DICOMweb through the front, verified against the CA
boundary = uuid.uuid4().hex
parts = []
for f in files:
    with open(f, "rb") as fh:
        parts.append(b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + fh.read() + b"\r\n")
body = b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"
stow = s.post(base + "/dicom-web/studies", data=body, timeout=120,
              headers={"Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}'})
out["stow"] = stow.status_code
out["hsts"] = stow.headers.get("Strict-Transport-Security")
study = stow.json()["00081190"]["Value"][0].rsplit("/studies/", 1)[1] if stow.ok else ""
qido = s.get(base + "/dicom-web/studies", params={"StudyInstanceUID": study}, timeout=60)
out["qido"] = [qido.status_code, len(qido.json()) if qido.ok else 0]
wado = s.get(f"{base}/dicom-web/studies/{study}", timeout=120,
             headers={"Accept": "multipart/related; type=application/dicom"})
out["wado"] = [wado.status_code, wado.content.count(b"DICM")]
out["sent"] = len(files)


def handshake(version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # so that this client does offer TLS 1.0 and 1.1
    ctx.minimum_version = ctx.maximum_version = version
    try:
        with socket.create_connection((host, 443), timeout=10) as raw, ctx.wrap_socket(raw, server_hostname=host) as t:
            return t.version()
    except (ssl.SSLError, OSError) as e:
        return f"refused: {e}"


out["tls"] = {v.name: handshake(v) for v in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1,
                                            ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)}
out["plain_front"] = requests.get(f"http://{host}:443/system", auth=auth, timeout=10).status_code
try:
    out["plain_orthanc"] = requests.get(f"http://{host}:8042/system", auth=auth, timeout=10).status_code
except requests.RequestException as e:
    out["plain_orthanc"] = f"refused: {type(e).__name__}"
big = s.post(base + "/dicomweb-oauth/servers/demo-target/test", data=b"\0" * (50 * 1024 * 1024), timeout=120)
out["plugin_50mb"] = [big.status_code, "nginx" in big.text]
small = s.post(base + "/dicomweb-oauth/servers/demo-target/test", timeout=60)
out["plugin_small"] = [small.status_code, small.json().get("ok") if small.ok else None]


def dcmtk(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=60).returncode  # noqa: S603 - DCMTK, fixed arguments


out["dicom_tls_store"] = dcmtk("storescu", "+tls", client_key, client_cert, "+cf", ca, "-aec", "ORTHANC", host, "4242",
                               files[0])
out["dicom_plain_echo"] = dcmtk("echoscu", "-aec", "ORTHANC", host, "4242")
out["dicom_tls_no_client_cert"] = dcmtk("echoscu", "+tla", "+cf", ca, "-aec", "ORTHANC", host, "4242")
print(json.dumps(out))
