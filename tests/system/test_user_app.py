"""An app folder a user adds under apps/ builds and boots with make APP=name."""
import os
import shutil
import subprocess

from conftest import BUILD, ROOT, boot

APP_SOURCE = r'''
#include <zebu.h>

static long times = 2;
ZEBU_OPTION_INT("times", times, 1, 10, "repetitions");

static int square(int x) { return x * x; }

int main(int argc, char **argv)
{
    for (long i = 0; i < times; i++)
        printf("user app: %d squared is %d\n", argc, square(argc));
    return argc == 2 && strcmp(argv[1], "fail") == 0 ? 42 : 0;
}
'''


def test_user_added_app_builds_boots_and_sets_exit_status():
    name = f"usertest{os.getpid()}"
    folder = os.path.join(ROOT, "apps", name)
    os.makedirs(folder)
    try:
        with open(os.path.join(folder, "main.c"), "w") as f:
            f.write(APP_SOURCE)
        p = subprocess.run(["make", "--no-print-directory", f"APP={name}"], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stdout + p.stderr
        assert f"build/{name}.elf32" in p.stdout  # the size line
        b = boot(name, append="times=3")
        assert b.banner()["app"] == name
        assert b.output.count("user app: 1 squared is 1") == 3
        assert b.status == 0
        b = boot(name, append="fail")
        assert "user app: 2 squared is 4" in b.output
        assert b.status == 42
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(os.path.join(BUILD, "app", name), ignore_errors=True)
        for ext in ("elf", "elf32"):
            try:
                os.remove(os.path.join(BUILD, f"{name}.{ext}"))
            except FileNotFoundError:
                pass


def test_unknown_app_is_a_clear_build_error():
    p = subprocess.run(["make", "--no-print-directory", "APP=no-such-app"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "no app 'no-such-app'" in p.stderr
    assert "hello" in p.stderr  # lists what exists
