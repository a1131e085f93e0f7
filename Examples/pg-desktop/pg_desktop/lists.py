"""What GTK 4.8 (Debian 12) lacks: `Gtk.ListBox.remove_all` came in 4.12."""


def remove_all(list_box):
    child = list_box.get_first_child()
    while child is not None:
        following = child.get_next_sibling()
        list_box.remove(child)
        child = following
