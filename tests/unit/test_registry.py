"""Check types and platform families are discovered from their folders, completely,
whatever was imported first (a regression: importing one check module directly used to
hide the others)."""

import subprocess
import sys


def test_direct_import_of_one_module_does_not_hide_the_others():
    code = ("import mzops.compliance.checks.auth, mzops.compliance.platforms.uos\n"
            "from mzops.compliance import catalogue\n"
            "from mzops.compliance.checks import registry\n"
            "from mzops.compliance.platforms import detect\n"
            "assert {'setting', 'sysctl', 'daemon_active', 'pwquality'} <= set(registry())\n"
            "assert detect({'ID': 'openEuler'}).name == 'openeuler'\n"
            "catalogue.load('mlps3')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
