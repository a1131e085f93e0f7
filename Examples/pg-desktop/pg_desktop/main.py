"""`pg-desktop [--server URL] [--profile DIR] [--key-file PATH]`, with `pg`'s environment
(PG_SERVER, PG_PROFILE, PG_KEY_FILE) and defaults."""
import argparse
import os
import sys


def profile_default():
    if os.environ.get("PG_PROFILE"):
        return os.environ["PG_PROFILE"]
    data = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.join(data, "plusguidance")


def parse(argv):
    parser = argparse.ArgumentParser(
        prog="pg-desktop", description="PlusGuidance: messages and Instant Sessions, live and offline.")
    parser.add_argument("--server", default=os.environ.get("PG_SERVER", "http://127.0.0.1:8080"),
                        help="the API server (env PG_SERVER; default http://127.0.0.1:8080)")
    parser.add_argument("--profile", default=None,
                        help="the profile folder, shared with pg and pg-syncd (env PG_PROFILE; "
                             "default $XDG_DATA_HOME/plusguidance)")
    parser.add_argument("--key-file", default=os.environ.get("PG_KEY_FILE"),
                        help="the key that unlocks the profile (env PG_KEY_FILE)")
    # D-Bus activation (a notification's button while the app is not running) passes this on.
    parser.add_argument("--gapplication-service", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    options.default_profile = options.profile is None
    options.profile = options.profile or profile_default()
    if not options.server.startswith(("http://", "https://")):
        parser.error("--server must be an http(s) URL")
    return options


def main(argv=None):
    options = parse(sys.argv[1:] if argv is None else argv)
    import gi

    gi.require_version("Gtk", "4.0")
    gi.require_version("Adw", "1")
    import plusguidance

    from .application import Application

    try:
        client = plusguidance.Client(server=options.server, profile=options.profile, key_file=options.key_file)
    except plusguidance.Error as error:
        # One line, no secret (the library's messages never carry one).
        print(f"pg-desktop: {error}", file=sys.stderr)
        return 77 if isinstance(error, plusguidance.UnauthorizedError) else 64
    app = Application(client, unique=options.default_profile)
    arguments = [sys.argv[0]] + (["--gapplication-service"] if options.gapplication_service else [])
    return app.run(arguments)
