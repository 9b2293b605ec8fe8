"""Labels over HTTP and the command line: what comes out scans back to the same code."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from PIL import Image

from tests.integration.tree import build_tree

zxingcpp = pytest.importorskip("zxingcpp")


@pytest.fixture
def filled(client, auth):
    admin = auth("admin")
    codes = build_tree(client, admin)
    box = client.post("/api/boxes", headers=admin, json={"home": codes["Slot 1"]}).json()["code"]
    for n, (title, cls, ret) in enumerate((("关于2024年度档案工作的通知", "internal", "10y"),
                                           ("Board minutes", "secret", "permanent"))):
        client.post("/api/records", headers=admin, json={
            "reference_code": f"WS·{2020 + n}·{('D10', 'Y')[n]}·000{n + 1}", "title": title, "box": box, "year": 2020 + n,
            "fonds": "X001", "classification": cls, "retention": ret})
    return admin, box, codes


def _decoded(png: bytes) -> set[str]:
    return {r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))}


def test_a_box_label_png_scans_as_its_code_and_qr_url(client, filled):
    admin, box, _ = filled
    for dpi in (203, 300):
        answer = client.get(f"/api/boxes/{box}/label.png", headers=admin, params={"dpi": dpi})
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
        assert _decoded(answer.content) >= {box, f"http://archive.test/s/{box}"}


def test_a_location_label_in_every_format(client, filled):
    admin, _, codes = filled
    slot = codes["Slot 1"]
    for fmt, media in (("pdf", "application/pdf"), ("svg", "image/svg+xml"),
                       ("zpl", "application/vnd.zebra-zpl"), ("png", "image/png")):
        answer = client.get(f"/api/locations/{slot}/label.{fmt}", headers=admin)
        assert answer.status_code == 200, (fmt, answer.text)
        assert answer.headers["content-type"].startswith(media)
    zpl = client.get(f"/api/locations/{slot}/label.zpl", headers=admin).text
    epc = client.get(f"/api/locations/{slot}", headers=admin).json()["epc"]
    assert f"^RFW,H,,,A^FD{epc}^FS" in zpl


def test_a_batch_is_one_pdf_or_one_zpl_stream(client, filled):
    admin, box, codes = filled
    pdf = client.post("/api/labels", headers=admin,
                      json={"codes": [box, codes["Slot 1"], codes["Slot 2"]]})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    zpl = client.post("/api/labels", headers=admin, json={
        "range": {"first": codes["Slot 1"], "last": codes["Slot 2"]}, "format": "zpl", "dpi": 300})
    assert zpl.status_code == 200
    assert zpl.text.count("^XA") == 2 and codes["Slot 2"] in zpl.text


def test_the_box_label_summarises_its_records(client, filled, session):
    from server.services import labelling
    from tests.conftest import SCHEME

    _, box, _ = filled
    [label] = labelling.labels_for(session, [box], scheme=SCHEME, clearance="internal")
    assert label.record_count == 2 and label.years == "2020–2021" and label.fonds == "X001"
    assert label.retention.startswith("永久")  # the longest retention of its records
    assert label.classification.startswith("机密")  # the highest classification
    assert label.first_title == "关于2024年度档案工作的通知"  # the secret title is not printed
    assert label.home_path.endswith("Slot 1")


def test_bad_label_requests_are_explained(client, filled, auth):
    admin, box, codes = filled
    assert client.get("/api/boxes/B07777777/label.png", headers=admin).status_code == 404
    assert client.get(f"/api/boxes/{box}/label.docx", headers=admin).status_code == 422
    wrong_kind = client.get(f"/api/boxes/{codes['Slot 1']}/label.png", headers=admin)
    assert wrong_kind.status_code == 422
    both = client.post("/api/labels", headers=admin,
                       json={"codes": [box], "range": {"first": box, "last": box}})
    assert both.status_code == 422
    huge = client.post("/api/labels", headers=admin,
                       json={"range": {"first": "B00000001", "last": "B00900000"}})
    assert huge.status_code == 422 and "at most" in huge.json()["detail"]
    backwards = client.post("/api/labels", headers=admin,
                            json={"range": {"first": "B00000009", "last": "B00000001"}})
    assert backwards.status_code == 422
    zpl_dpi = client.post("/api/labels", headers=admin,
                          json={"codes": [box], "format": "zpl", "dpi": 600})
    assert zpl_dpi.status_code == 422
    assert client.get(f"/api/boxes/{box}/label.png", headers=auth("borrower")).status_code == 403


def test_labels_print_from_the_command_line(filled, database_url, tmp_path):
    _, box, codes = filled
    out = tmp_path / "labels.pdf"
    env = {"ARCHIVE_TWIN_DATABASE_URL": database_url, "ARCHIVE_TWIN_BASE_URL": "http://archive.test",
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "labels", "print", box,
         "--range", f"{codes['Slot 1']}-{codes['Slot 2']}", "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "3 labels written" in done.stdout and "3/3 labels" in done.stderr
    assert out.read_bytes().startswith(b"%PDF")
    bad = subprocess.run([sys.executable, "-m", "server.cli", "labels", "print", "B07777777",
                          "--out", str(tmp_path / "x.pdf")],
                         env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "name nothing registered" in bad.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_any_a4_grid_or_roll_size_can_be_asked_for(client, filled):
    admin, box, codes = filled
    sheet = client.post("/api/labels", headers=admin,
                        json={"codes": [box, codes["Slot 1"]], "layout": "a4-4x10"})
    assert sheet.status_code == 200 and sheet.content.startswith(b"%PDF")
    roll = client.get(f"/api/boxes/{box}/label.png", headers=admin,
                      params={"layout": "80x50", "dpi": 203})
    assert roll.status_code == 200
    width, height = Image.open(io.BytesIO(roll.content)).size
    assert (round(width / 203 * 25.4), round(height / 203 * 25.4)) == (80, 50)
    assert box in _decoded(roll.content)
    for layout, words in (("a4-11x3", "1 to 10 columns"), ("300x50", "20 to 200 mm"),
                          ("banana", "a4-COLUMNSxROWS")):
        bad = client.post("/api/labels", headers=admin, json={"codes": [box], "layout": layout})
        assert bad.status_code == 422 and bad.json()["field"] == "layout"
        assert words in bad.json()["detail"]
