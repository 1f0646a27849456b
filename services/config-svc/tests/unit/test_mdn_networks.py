"""A partner's async MDN networks as the API accepts them: real networks, written canonically,
each once, a bounded few, never every address."""

import pytest
from pydantic import ValidationError

from as2bus.config.schemas import PartnerCreate, PartnerUpdate
from as2bus.contracts.config import MAX_ASYNC_MDN_NETWORKS

BASE = {"as2_id": "onprem", "name": "On premises", "as2_url": "https://as2.example.com/as2"}


def refusal(networks: list[str]) -> tuple[tuple[str | int, ...], str]:
    with pytest.raises(ValidationError) as err:
        PartnerCreate.model_validate({**BASE, "async_mdn_networks": networks})
    (error,) = err.value.errors()
    return tuple(error["loc"]), str(error["msg"]).removeprefix("Value error, ")


def test_networks_are_kept_canonical_and_once() -> None:
    partner = PartnerCreate.model_validate(
        {
            **BASE,
            "async_mdn_networks": [" 10.20.1.2/16", "10.20.0.0/16", "192.168.7.9", "fd12::/16"],
        }
    )
    assert partner.async_mdn_networks == ["10.20.0.0/16", "192.168.7.9/32", "fd12::/16"]
    assert PartnerCreate.model_validate(BASE).async_mdn_networks == []


def test_a_value_that_is_no_network_is_named_in_one_sentence() -> None:
    loc, message = refusal(["10.1.0.0/16", "10.0.0.0/33"])
    assert loc == ("async_mdn_networks", 1)
    assert message.startswith("10.0.0.0/33 is not a network")
    assert refusal(["intranet"])[1].startswith("intranet is not a network")


def test_every_address_at_once_is_refused() -> None:
    for everything in ("0.0.0.0/0", "::/0"):
        _, message = refusal([everything])
        assert message == (
            f"{everything} would allow every address: name the partner's own network, "
            "e.g. 10.20.0.0/16"
        )


def test_the_list_is_bounded() -> None:
    many = [f"10.{i}.0.0/16" for i in range(MAX_ASYNC_MDN_NETWORKS + 1)]
    loc, message = refusal(many)
    assert loc == ("async_mdn_networks",)
    assert message.startswith(f"holds {MAX_ASYNC_MDN_NETWORKS + 1} networks; at most 32")
    PartnerCreate.model_validate({**BASE, "async_mdn_networks": many[:-1]})


def test_an_update_sets_or_empties_them_and_otherwise_leaves_them() -> None:
    assert PartnerUpdate.model_validate({"name": "x"}).model_dump(exclude_unset=True) == {
        "name": "x"
    }
    cleared = PartnerUpdate.model_validate({"async_mdn_networks": []})
    assert cleared.model_dump(exclude_unset=True) == {"async_mdn_networks": []}
    with pytest.raises(ValidationError):
        PartnerUpdate.model_validate({"async_mdn_networks": None})
