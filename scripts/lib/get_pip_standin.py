"""Stand-in for the get-pip.py that ansible-test downloads from Ansible's CI
file host, which this project's machines cannot reach.

ansible-test runs it inside a fresh, pip-less virtualenv with pip's install
arguments, and runs pip there with a scrubbed environment (no PIP_CERT, no
index settings). So: install pip from Python's bundled ensurepip, give the
virtualenv the machine's pip settings (saved beside this file by
scripts/sanity.sh), then install what was asked for.
"""
import ensurepip
import os
import shutil
import subprocess
import sys

settings = os.path.join(os.path.dirname(os.path.abspath(__file__)), "meshops-pip.conf")
if os.path.exists(settings):
    shutil.copy(settings, os.path.join(sys.prefix, "pip.conf"))
ensurepip.bootstrap()
# ensurepip points PIP_CONFIG_FILE at /dev/null in this process; undo that so
# the install below reads the settings copied in above.
os.environ.pop("PIP_CONFIG_FILE", None)
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel", "--disable-pip-version-check")]
subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check"] + args)
