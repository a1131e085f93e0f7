"""Words and times as the screens show them."""
import datetime

TYPES = [("video", "Video"), ("voice", "Voice"), ("chat", "Instant Message")]


def type_label(session_type):
    return dict(TYPES).get(str(session_type), str(session_type))


def clock(seconds):
    """`mm:ss`, or `h:mm:ss` from an hour up."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes:02}:{seconds:02}"


def local_time(moment):
    """A time of day in the device's zone (what a person reads), with the date when not today."""
    local = moment.astimezone()
    today = datetime.datetime.now().astimezone().date()
    if local.date() == today:
        return local.strftime("%H:%M")
    return local.strftime("%a %d %b %H:%M")
