"""A desktop's notification server for the tests: `org.freedesktop.Notifications` on the test's
private session bus (what GNOME Shell, KDE or dunst provide), recording what it is asked to
show in a JSON-lines file, and `Invoke(id, action)`, which presses a notification's button the
way a person would (the `ActionInvoked` signal)."""
import json
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"


class Notifications(dbus.service.Object):
    def __init__(self, bus, record):
        super().__init__(bus, PATH)
        self.record = record
        self.next_id = 0

    def _write(self, entry):
        with open(self.record, "a") as file:
            file.write(json.dumps(entry) + "\n")

    @dbus.service.method(NAME, in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app_name, replaces_id, icon, summary, body, actions, hints, timeout):
        self.next_id += 1
        pairs = [str(a) for a in actions]
        self._write({"id": self.next_id, "app": str(app_name), "summary": str(summary), "body": str(body),
                     "actions": dict(zip(pairs[1::2], pairs[0::2]))})
        return dbus.UInt32(self.next_id)

    @dbus.service.method(NAME, in_signature="u", out_signature="")
    def CloseNotification(self, notification_id):
        self._write({"closed": int(notification_id)})
        self.NotificationClosed(notification_id, dbus.UInt32(3))

    @dbus.service.method(NAME, in_signature="", out_signature="as")
    def GetCapabilities(self):
        return ["actions", "body"]

    @dbus.service.method(NAME, in_signature="", out_signature="ssss")
    def GetServerInformation(self):
        return ("pg-desktop tests", "PlusGuidanceKit", "1", "1.2")

    @dbus.service.signal(NAME, signature="us")
    def ActionInvoked(self, notification_id, action_key):
        pass

    @dbus.service.signal(NAME, signature="uu")
    def NotificationClosed(self, notification_id, reason):
        pass

    @dbus.service.method("com.plusguidance.Tests", in_signature="us", out_signature="")
    def Invoke(self, notification_id, action_key):
        self.ActionInvoked(dbus.UInt32(notification_id), action_key)


def main():
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    server = Notifications(bus, sys.argv[1])
    name = dbus.service.BusName(NAME, bus, do_not_queue=True)
    print("ready", flush=True)
    GLib.MainLoop().run()
    del server, name


if __name__ == "__main__":
    main()
