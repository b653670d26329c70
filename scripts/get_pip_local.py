# Stand-in for pip's get-pip.py used by ansible-test when the machine cannot reach the host that
# serves get-pip: bootstrap the interpreter's bundled pip (ensurepip), then let that pip install
# the requested packages from the configured package index.
import ensurepip
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
