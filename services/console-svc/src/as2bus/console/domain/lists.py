"""The list each page of the console belongs to, found from the page's address: where a page
that finds nothing ("Not found") sends the operator on to, rather than always the TrackLog."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ListPage:
    href: str
    name: str  # after "Open", as the list's heading names it


#: By the first part of a page's path.
LISTS = {
    "tracklog": ListPage("/tracklog", "the TrackLog"),
    "sent": ListPage("/tracklog", "the TrackLog"),  # a send request on its way
    "stations": ListPage("/stations", "the AS2 Instances list"),
    "partners": ListPage("/partners", "the Partner list"),
    "partnerships": ListPage("/partnerships", "the PartnerShip list"),
    "certificates": ListPage("/certificates", "the Certificates list"),
    "notifications": ListPage("/notifications", "Notifications"),
    "users": ListPage("/users", "the Users list"),
}
DASHBOARD = ListPage("/", "the dashboard")


def list_of(path: str) -> ListPage:
    """The list the page at ``path`` belongs to; the dashboard for a page of no list."""
    return LISTS.get(path.strip("/").split("/", 1)[0], DASHBOARD)
