"""Not collected by a normal run (no test_ prefix): tests/system/test_hygiene.py
runs it in a pytest of its own and interrupts it, to check that the
namespace and processes it made do not outlive the interruption."""
import subprocess
import time

from netbench import tap_ns


def test_waits_in_a_namespace_until_interrupted():
    with tap_ns("10.0.9.1/24") as (ns, tap):
        child = subprocess.Popen(["sh", "-c", "sleep 300 & echo $!; wait"],
                                 stdout=subprocess.PIPE, text=True)
        print(f"NS {ns} CHILD {child.pid} GRANDCHILD {child.stdout.readline().strip()}",
              flush=True)
        time.sleep(300)
