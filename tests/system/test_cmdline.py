"""The boot command line: options reach the app, bad ones are named."""
from conftest import boot


def test_options_and_arguments_reach_the_app():
    b = boot("hello", append='greeting="Good day" count=3 shout -- one two')
    assert b.output.count("GOOD DAY FROM ZEBU!") == 3, b.output
    assert 'argv[1] = "one"' in b.output
    assert 'argv[2] = "two"' in b.output
    assert "2 arguments" in b.output
    assert b.status == 0


def test_bare_words_are_arguments():
    b = boot("hello", append="alpha count=0 beta")
    assert "from Zebu" not in b.output
    assert 'argv[1] = "alpha"' in b.output and 'argv[2] = "beta"' in b.output
    assert b.status == 0


def test_malformed_integer_is_refused_by_name():
    b = boot("hello", append="count=abc")
    assert "option 'count': 'abc' is not an integer" in b.output, b.output
    assert "refusing to start" in b.output
    assert "from Zebu" not in b.output  # main never ran
    assert b.status == 2


def test_out_of_range_integer_is_refused_by_name():
    b = boot("hello", append="count=5000")
    assert "option 'count': '5000' is out of range 0..1000" in b.output, b.output
    assert b.status == 2


def test_malformed_boolean_is_refused_by_name():
    b = boot("hello", append="shout=maybe")
    assert "option 'shout': 'maybe' is not a boolean" in b.output, b.output
    assert b.status == 2


def test_every_bad_option_is_reported_not_just_the_first():
    b = boot("hello", append="count=x loglevel=9")
    assert "option 'count'" in b.output and "option 'loglevel'" in b.output
    assert "2 malformed options" in b.output
    assert b.status == 2


def test_unknown_option_is_warned_about_by_name_and_ignored():
    b = boot("hello", append="colour=red count=1")
    assert "WARN cmdline: unknown option 'colour' ignored" in b.output, b.output
    assert b.output.count("Hello from Zebu!") == 1
    assert b.status == 0


def test_help_lists_kernel_and_app_options():
    b = boot("hello", append="help")
    for name in ("greeting", "count", "shout", "loglevel", "mem.stats"):
        assert f"  {name}" in b.output, name
    assert "from Zebu" not in b.output
    assert b.status == 0


def test_default_loglevel_shows_banner_and_warnings_but_no_info_lines():
    b = boot("hello", append="colour=blue")
    b.banner()
    assert "WARN cmdline: unknown option 'colour' ignored" in b.output, b.output
    assert "Hello from Zebu!" in b.output
    assert "app: starting" not in b.output and "] mem: " not in b.output, b.output
    assert b.status == 0


def test_loglevel_brings_back_info_and_debug_lines():
    quiet = boot("hello", append="loglevel=0")
    assert "app: starting" not in quiet.output
    assert "Hello from Zebu!" in quiet.output
    info = boot("hello", append="loglevel=2")
    assert "app: starting hello" in info.output
    assert "] time: TSC" in info.output  # printed after the options are read
    assert "debug " not in info.output
    loud = boot("hello", append="loglevel=3")
    assert "debug mem:" in loud.output  # the memory map at debug level
