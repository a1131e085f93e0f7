"""Driving pg-desktop the way a screen reader sees it: the AT-SPI tree of a real window under
Xvfb, found by accessible name and role, pressed through its actions, typed into through its
editable text, and keys through the registry (XTest)."""
import os
import subprocess
import time

import pyatspi

PREFIX = os.environ.get("PG_PREFIX", "/usr/local")
SHOTS = os.environ.get("PG_DESKTOP_SHOTS")


def wait_for(predicate, timeout=20, every=0.1, what="the condition"):
    """`predicate()`'s first true value, polled; an AssertionError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


class NotFound(AssertionError):
    pass


def showing(node):
    """Visible and on screen. GTK 4.8 does not keep STATE_SHOWING up to date below the window,
    so an unmapped widget (another stack page, a closed revealer) is told by its empty extents."""
    try:
        if not node.getState().contains(pyatspi.STATE_VISIBLE):
            return False
        try:
            extents = node.queryComponent().getExtents(pyatspi.WINDOW_COORDS)
        except NotImplementedError:
            return True  # not a widget (a stack page): its children say
        return extents.width > 0 and extents.height > 0
    except Exception:
        return False


def sensitive(node):
    return node.getState().contains(pyatspi.STATE_SENSITIVE)


def walk(node):
    """Every node a person can see: hidden pages and closed revealers are left out."""
    try:
        count = node.childCount
    except Exception:
        return
    for index in range(count):
        try:
            child = node.getChildAtIndex(index)
        except Exception:
            continue
        if child is None or not showing(child):
            continue
        yield child
        yield from walk(child)


def text_of(node):
    try:
        text = node.queryText()
        return text.getText(0, text.characterCount)
    except NotImplementedError:
        return node.name


class App:
    """One pg-desktop process on a profile, and its windows in the accessibility tree."""

    def __init__(self, server, profile, key_file, log):
        self.log = open(log, "a")
        self.process = subprocess.Popen(
            [os.path.join(PREFIX, "bin", "pg-desktop"), "--server", server.url, "--profile", profile,
             "--key-file", key_file],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.root = self._application()

    def _application(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "pg-desktop exited at start"
            desktop = pyatspi.Registry.getDesktop(0)
            for index in range(desktop.childCount):
                application = desktop.getChildAtIndex(index)
                try:
                    if application is not None and application.get_process_id() == self.process.pid \
                            and application.childCount > 0:
                        return application
                except Exception:
                    continue
            time.sleep(0.1)
        raise NotFound("pg-desktop's window never reached the accessibility tree")

    # ---- finding

    def find_all(self, name=None, role=None, within=None, starts=None, contains=None):
        found = []
        for node in walk(within or self.root):
            try:
                if role is not None and node.getRoleName() != role:
                    continue
                label = node.name or ""
                if name is not None and label != name:
                    continue
                if starts is not None and not label.startswith(starts):
                    continue
                if contains is not None and contains not in label:
                    continue
            except Exception:
                continue
            found.append(node)
        return found

    def find(self, name=None, role=None, timeout=20, **criteria):
        deadline = time.monotonic() + timeout
        while True:
            found = self.find_all(name=name, role=role, **criteria)
            if found:
                return found[-1]
            if time.monotonic() > deadline:
                raise NotFound(f"nothing showing named {name or criteria!r} ({role or 'any role'}); "
                               f"showing:\n{self.outline()}")
            time.sleep(0.1)

    def gone(self, name=None, role=None, timeout=20, **criteria):
        deadline = time.monotonic() + timeout
        while self.find_all(name=name, role=role, **criteria):
            if time.monotonic() > deadline:
                raise AssertionError(f"{name or criteria!r} still showing")
            time.sleep(0.1)

    def wait(self, predicate, timeout=20, what="the condition"):
        return wait_for(predicate, timeout=timeout, what=what)

    def outline(self, node=None, depth=0):
        """The tree as a person sees it, for a failure's message."""
        lines = []
        node = node or self.root
        try:
            for index in range(node.childCount):
                child = node.getChildAtIndex(index)
                if child is None:
                    continue
                mark = "" if showing(child) else " (hidden)"
                lines.append(f"{'  ' * depth}{child.getRoleName()} {child.name!r}{mark}")
                if showing(child):
                    lines.append(self.outline(child, depth + 1))
        except Exception as error:
            lines.append(f"{'  ' * depth}<{error}>")
        return "\n".join(line for line in lines if line)

    # ---- acting

    def press(self, name, role="push button", **criteria):
        button = self.find(name, role, **criteria)
        self.wait(lambda: sensitive(button), what=f"{name!r} to be enabled")
        actions = button.queryAction()
        for index in range(actions.nActions):
            if actions.getName(index) in ("click", "press", "activate"):
                actions.doAction(index)
                return button
        if actions.nActions:
            actions.doAction(0)
        else:
            # GTK 4.8 gives a check box no action: as a person does it, focus it and press space.
            button.queryComponent().grabFocus()
            self.wait(lambda: button.getState().contains(pyatspi.STATE_FOCUSED), what=f"{name!r} focused")
            self.keys("space")
        return button

    def type(self, name, text, role=None):
        entry = self.find(name, role)
        editable = entry.queryEditableText()
        editable.setTextContents("")
        editable.insertText(0, text, len(text.encode("utf-8")))
        return entry

    def focus(self, name, role=None):
        node = self.find(name, role)
        node.queryComponent().grabFocus()
        return node

    def keys(self, *names):
        """Presses keys through the accessibility registry (XTest), as a keyboard would."""
        for name in names:
            if len(name) == 1:
                pyatspi.Registry.generateKeyboardEvent(ord(name), None, pyatspi.KEY_SYM)
            else:
                keysym = {"Tab": 0xFF09, "Return": 0xFF0D, "Escape": 0xFF1B, "space": 0x20,
                          "Down": 0xFF54, "Up": 0xFF52}[name]
                pyatspi.Registry.generateKeyboardEvent(keysym, None, pyatspi.KEY_SYM)
            time.sleep(0.03)

    def focused(self, window=None):
        """The focused widget of the window titled `window` (each window keeps its own)."""
        root = self.root
        if window is not None:
            windows = [self.root.getChildAtIndex(i) for i in range(self.root.childCount)]
            windows = [w for w in windows if w is not None and w.name == window]
            if not windows:
                return None
            root = windows[-1]
        for node in walk(root):
            try:
                if node.getState().contains(pyatspi.STATE_FOCUSED):
                    return node
            except Exception:
                continue
        return None

    def screenshot(self, name):
        """Saves the screen as PNG in PG_DESKTOP_SHOTS (the README's screenshots)."""
        if not SHOTS:
            return
        os.makedirs(SHOTS, exist_ok=True)
        # No window manager on the test display: raise this app's windows above the other's.
        subprocess.run(["xdotool", "search", "--onlyvisible", "--pid", str(self.process.pid), "--name", ".",
                        "windowraise", "%@"], capture_output=True)
        time.sleep(0.3)
        subprocess.run(["import", "-window", "root", os.path.join(SHOTS, name + ".png")], check=True)

    def close(self, timeout=30):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
