"""The agency settings page (/admin/settings): every field saved and audited, bad inputs
refused by the fields, only the agency's own administrator, and letters print the logo
and the contact line under the kop."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from PIL import Image
from test_admin import BANGKA_ADMIN, MALANG_ADMIN, _token, login, text
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from portal.modules.agencies.logo import LOGO_MAX_PIXELS
from portal.modules.agencies.models import Agency
from portal.modules.audit.models import AuditEvent
from portal.modules.demo.data import walk

ADDRESS = "Jl. Ahmad Yani No. 7, Sungailiat 33211"


def _bangka() -> Agency:
    return Agency.get(Agency.code == "dinkes-bangka")


def _png(width=1200, height=800, colour=(20, 90, 160)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def _form(**changes) -> dict:
    form = {
        "letterhead_1": "PEMERINTAH KABUPATEN BANGKA", "letterhead_2": "DINAS KESEHATAN",
        "letterhead_3": "", "letterhead_4": "",
        "city": "Sungailiat", "address": ADDRESS, "phone": "(0717) 92123",
        "email": "dinkes@bangka.go.id", "website": "dinkes.bangka.go.id",
        "timezone": "WITA", "supervisor_position": "kadin",
        "hours_mon": "07:30-16:00", "hours_tue": "07:30-16:00", "hours_wed": "07:30-16:00",
        "hours_thu": "07:30-16:00", "hours_fri": "07.30-11.00", "hours_sat": "08:00-12:00",
        "hours_sun": "",
    }
    form.update(changes)
    return form


def _save(client, form, logo: bytes | None = None, name="logo.png"):
    data = {"csrf_token": _token(client), **form}
    if logo is not None:
        data["logo"] = FileStorage(io.BytesIO(logo), filename=name)
    # encoded here, in memory: the test client spools a body over 500 kB to a temporary
    # file it never closes
    boundary, body = encode_multipart(data)
    return client.post("/admin/settings", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def test_overview_links_the_settings_page_and_it_shows_the_agency(client, demo):
    login(client, BANGKA_ADMIN)
    assert 'href="/admin/settings"' in text(client.get("/admin/"))
    page = client.get("/admin/settings")
    body = text(page)
    assert page.status_code == 200
    assert 'value="PEMERINTAH KABUPATEN BANGKA"' in body and 'value="Sungailiat"' in body
    assert 'value="07:30-16:00"' in body and 'name="logo"' in body


def test_the_page_saves_every_field_with_an_audit_event(client, demo, storage):
    login(client, BANGKA_ADMIN)
    response = _save(client, _form(requires_account_approval=""), _png())
    assert response.status_code == 303, text(response)[:2000]
    agency = _bangka()
    assert agency.letterhead == ["PEMERINTAH KABUPATEN BANGKA", "DINAS KESEHATAN"]
    assert (agency.city, agency.address, agency.phone, agency.email, agency.website) == (
        "Sungailiat", ADDRESS, "(0717) 92123", "dinkes@bangka.go.id", "dinkes.bangka.go.id")
    assert agency.timezone == "Asia/Makassar"
    assert agency.office_hours == {"mon": "07:30-16:00", "tue": "07:30-16:00",
                                   "wed": "07:30-16:00", "thu": "07:30-16:00",
                                   "fri": "07:30-11:00", "sat": "08:00-12:00"}
    assert agency.supervisor_position == "kadin"
    assert agency.requires_account_approval is False  # the demo had it on
    with Image.open(io.BytesIO(storage.read(agency.logo_key))) as logo:
        assert logo.format == "PNG" and max(logo.size) == LOGO_MAX_PIXELS
    event = AuditEvent.select().where(AuditEvent.action == "agency.settings_updated").get()
    assert event.object_id == str(agency.id)
    assert {"address", "timezone", "office_hours", "logo_key", "supervisor_position",
            "requires_account_approval", "phone", "email", "website"} <= set(event.data["changes"])
    assert event.data["changes"]["address"] == ["", ADDRESS]
    page = text(client.get("/admin/settings"))
    assert f'value="{ADDRESS}"' in page and "/admin/settings/logo" in page
    assert client.get("/admin/settings/logo").headers["Content-Type"] == "image/png"
    # saving the same again changes nothing and records nothing
    assert _save(client, _form(requires_account_approval="")).status_code == 303
    assert AuditEvent.select().where(AuditEvent.action == "agency.settings_updated").count() == 1
    # the logo can be removed
    assert _save(client, _form(remove_logo="1")).status_code == 303
    assert _bangka().logo_key is None


def test_a_jpeg_logo_is_accepted_and_stored_as_png(client, demo, storage):
    login(client, BANGKA_ADMIN)
    out = io.BytesIO()
    Image.new("RGB", (120, 60), (200, 0, 0)).save(out, format="JPEG")
    assert _save(client, _form(), out.getvalue(), "logo.jpg").status_code == 303
    assert storage.read(_bangka().logo_key).startswith(b"\x89PNG")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("hours_tue", "16:00-07:30", "Selasa"),
    ("hours_fri", "pagi saja", "Jumat"),
    ("hours_wed", "07:30-25:00", "Rabu"),
    ("supervisor_position", "tidak-ada", "Jabatan ini tidak ada di instansi."),
    ("timezone", "Mars/Olympus", "Zona waktu tidak dikenal"),
    ("email", "bukan-email", "Alamat e-mail tidak valid."),
    ("letterhead_1", "", "Baris pertama kop surat wajib diisi."),
])
def test_bad_fields_are_refused_by_the_field(client, demo, field, value, message):
    login(client, BANGKA_ADMIN)
    before = _bangka()
    response = _save(client, _form(**{field: value}))
    body = text(response)
    assert response.status_code == 422
    assert message in body and f'id="e-{field}"' in body and "error-summary" in body
    assert f'href="#f-{field}"' in body
    assert _bangka().address == before.address == ""  # nothing saved


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"\x89PNG\r\n\x1a\n" + b"\0" * (1024 * 1024 + 1), "logo.png", "Logo melebihi 1 MB."),
    (b"%PDF-1.7\nthis is not an image\n", "logo.png", "bukan gambar PNG atau JPEG"),
    (b"\x89PNG\r\n\x1a\nbroken", "logo.png", "rusak atau tidak terbaca"),
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)'
     b"</script></svg>", "logo.svg", "SVG"),
])
def test_bad_logos_are_refused(client, demo, data, name, message):
    login(client, BANGKA_ADMIN)
    response = _save(client, _form(), data, name)
    body = text(response)
    assert response.status_code == 422
    assert message in body and 'id="e-logo"' in body
    assert _bangka().logo_key is None and _bangka().address == ""


def test_only_the_agency_s_own_administrator_sees_the_page(client, demo, storage):
    login(client, BANGKA_ADMIN)
    assert _save(client, _form(), _png(100, 100)).status_code == 303
    client.post("/logout", data={"csrf_token": ""})
    other = client.application.test_client()
    login(other, MALANG_ADMIN)
    page = text(other.get("/admin/settings"))
    assert ADDRESS not in page and "Kepanjen" in page  # their own agency's settings
    assert other.get("/admin/settings/logo").status_code == 404  # Malang has no logo
    assert _save(other, _form(address="Diubah Malang", supervisor_position="")).status_code == 303
    assert _bangka().address == ADDRESS
    official = client.application.test_client()
    login(official, "kasi.sdmk@dinkes-bangka.absah.test")
    assert official.get("/admin/settings").status_code == 403
    assert _save(official, _form(address="x")).status_code == 403
    assert client.application.test_client().get("/admin/settings").status_code in (302, 303)


@pytest.mark.skipif(not shutil.which("pdftotext") or not shutil.which("pdfimages"),
                    reason="needs poppler-utils")
def test_letters_print_the_logo_and_the_contact_line(client, demo, storage, tmp_path):
    login(client, BANGKA_ADMIN)
    assert _save(client, _form(timezone="WIB"), _png(400, 400)).status_code == 303
    application, _ = walk("rekom-nakes", storage)
    letter = application.letters[0]
    path = tmp_path / "letter.pdf"
    path.write_bytes(storage.read(letter.storage_key))
    page1 = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(path), "-"],
                           capture_output=True, text=True, check=True).stdout
    assert ADDRESS in page1
    assert "dinkes@bangka.go.id" in page1 and "(0717) 92123" in page1
    images = subprocess.run(["pdfimages", "-list", "-f", "1", "-l", "1", str(path)],
                            capture_output=True, text=True, check=True).stdout
    sizes = {tuple(line.split()[3:5]) for line in images.splitlines()[2:]}
    assert ("400", "400") in sizes  # the logo (the QR stamp is the other image)


def test_the_renderer_checks_the_logo_and_the_contact_lines():
    import signing

    base = dict(letterhead=("DINAS",), number="1", place_date="Sungailiat, 1 Januari 2026",
                signature=signing.SignatureBlock(position="Kepala", name="Budi"))
    with pytest.raises(signing.InvalidConfig):
        signing.LetterContent(**base, contact=("a", "b", "c", "d"))
    with pytest.raises(signing.InvalidConfig):
        signing.LetterContent(**base, logo="logo.png")
    with pytest.raises(signing.SigningError):
        signing.render_letter(signing.LetterContent(**base, logo=b"not an image"))
    rendered = signing.render_letter(signing.LetterContent(**base, logo=_png(50, 80),
                                                           contact=("Jl. Mawar 1",)))
    assert rendered.pdf.startswith(b"%PDF")
