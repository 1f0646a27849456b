import pytest

from as2bus.shared.crypto import MasterKeyError, SecretBox, SecretDecryptError, generate_master_key


def test_sealed_secret_opens_with_the_same_key_and_context() -> None:
    box = SecretBox(generate_master_key())
    sealed = box.seal(b"hunter2", "partner:1:secrets")
    assert b"hunter2" not in sealed.encode()
    assert box.open(sealed, "partner:1:secrets") == b"hunter2"


def test_same_plaintext_seals_differently_each_time() -> None:
    box = SecretBox(generate_master_key())
    assert box.seal(b"x", "c") != box.seal(b"x", "c")


def test_a_ciphertext_moved_to_another_row_does_not_open() -> None:
    box = SecretBox(generate_master_key())
    sealed = box.seal(b"hunter2", "partner:1:secrets")
    with pytest.raises(SecretDecryptError, match="partner:2:secrets"):
        box.open(sealed, "partner:2:secrets")


def test_another_key_or_a_tampered_value_does_not_open() -> None:
    sealed = SecretBox(generate_master_key()).seal(b"hunter2", "c")
    with pytest.raises(SecretDecryptError):
        SecretBox(generate_master_key()).open(sealed, "c")
    box = SecretBox(generate_master_key())
    good = box.seal(b"hunter2", "c")
    tampered = good[:-2] + ("A" if good[-2] != "A" else "B") + good[-1]
    with pytest.raises(SecretDecryptError):
        box.open(tampered, "c")
    with pytest.raises(SecretDecryptError):
        box.open("not-a-sealed-value", "c")


@pytest.mark.parametrize(
    "bad",
    ["", "short", "!!!notbase64!!!", "cut-short"],
    ids=["empty", "short", "not-base64", "a-real-key-cut-short"],
)
def test_a_malformed_master_key_is_refused_with_a_hint(bad: str) -> None:
    if bad == "cut-short":  # made here: a generated id would differ between test workers
        bad = generate_master_key()[:20]
    with pytest.raises(MasterKeyError, match="AS2BUS_MASTER_KEY"):
        SecretBox(bad)
