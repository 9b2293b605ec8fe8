"""Electronic-file packages per DA/T 48-2009 (基于XML的电子文件封装规范, EEP): a record with
its copies as one XML file, and back.

The package carries the record's description (内容描述 and the other blocks of 文件实体) and
each copy as a 文档 whose 文档数据 holds the 电子属性 (format, file name, size, digest) and the
base64 bytes. Reading one back checks every document's size and digest before anything is
written, and names the document that does not match. Fields DA/T 48 has no element for (the
archive's own metadata) travel in 扩展信息 as JSON, so a round trip loses nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import date
from typing import Any
from xml.etree import ElementTree as ET

from pydantic import ValidationError
from sqlmodel import Session, col, select

from server.clock import now
from server.models.copies import ElectronicCopy
from server.models.description import Fonds
from server.models.holdings import Record, RecordCreate
from server.services import copies, records, register_terms
from server.services.copies import CopyStore
from server.services.errors import Invalid
from server.services.people import may_see

NAMESPACE = "http://www.saac.gov.cn/standards/ERM/encapsulation"
ROOT = "电子文件封装包"
_NS = {"e": NAMESPACE}
# Record field → element of 内容描述 (DA/T 48-2009 / DA/T 18 names).
_DESCRIPTION = (
    ("title", "题名"), ("description", "摘要"), ("creator", "责任者"), ("date", "日期"),
    ("document_number", "文件编号"), ("year", "年度"), ("retention", "保管期限"),
    ("retention_years", "保管年限"), ("classification", "密级"),
    ("classification_term", "保密期限"), ("fonds", "全宗号"), ("category", "门类"),
    ("series", "类别号"), ("item", "件号"), ("pages", "页数"), ("note", "附注"),
    ("level", "聚合层次"), ("access", "开放标识"),
)


# Serialising with one prefix map on both sides keeps the package's fingerprint stable.
ET.register_namespace("", NAMESPACE)
FINGERPRINT = "SHA-256 of the C14N 2.0 form of 被签名对象 (a digest, not a signature)"


def fingerprint(element: ET.Element) -> str:
    """SHA-256 of an element in canonical form, whitespace between elements ignored."""
    copy = ET.fromstring(ET.tostring(element, encoding="unicode"))
    for node in copy.iter():
        if node.text is not None and not node.text.strip():
            node.text = None
        if node.tail is not None and not node.tail.strip():
            node.tail = None
    canonical = ET.canonicalize(ET.tostring(copy, encoding="unicode"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _q(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


def _sub(parent: ET.Element, tag: str, text: Any = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, _q(tag), {k: v for k, v in attrs.items()})
    if text is not None:
        element.text = str(text)
    return element


def export_record(session: Session, store: CopyStore, reference_code: str, *,
                  clearance: str, organisation: str = "archive-twin") -> bytes:
    """The EEP package of one record (a file, or a volume with its files) and their copies;
    404 above the clearance, and a volume's files above it are left out like missing ones."""
    record = records.by_reference(session, reference_code, clearance=clearance)
    members = [record]
    if record.level == "volume":
        members += [f for f in records.files_of(session, record)
                    if may_see(clearance, f.classification)]
    root = ET.Element(_q(ROOT))
    _sub(root, "封装包格式描述", "本EEP根据中华人民共和国档案行业标准DA/T 48-2009《基于XML的电子文件封装规范》生成")
    _sub(root, "版本", "2009")
    signed = _sub(root, "被签名对象", **{"eep版本": "2009"})
    _sub(signed, "封装包类型", "原始型")
    _sub(signed, "封装包类型描述", "本封装包包含电子文件数据及其元数据，原始封装，未经修改")
    _sub(signed, "封装包创建时间", now().isoformat(timespec="seconds"))
    _sub(signed, "封装包创建单位", organisation)
    content = _sub(signed, "封装内容")
    block = _sub(content, "文件实体块")
    for member in members:  # the volume first, then the files in it
        _entity(session, store, block, member, volume=record if member is not record else None)
    _sub(_sub(content, "业务实体块"), "业务实体")
    signature = _sub(_sub(root, "电子签名块"), "签名", **{"签名标识符": "修改0-签名1"})
    _sub(signature, "签名规则", FINGERPRINT)
    _sub(signature, "签名时间", now().isoformat(timespec="seconds"))
    _sub(signature, "签名人", organisation)
    _sub(signature, "签名结果", fingerprint(signed))
    _sub(signature, "证书", "")
    _sub(signature, "证书引证", "")
    _sub(signature, "签名算法标识", "SHA-256")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _entity(session: Session, store: CopyStore, block: ET.Element, record: Record, *,
            volume: Record | None) -> None:
    fonds = session.exec(select(Fonds).where(Fonds.code == (record.fonds or ""))).first()
    held = session.exec(select(ElectronicCopy).where(ElectronicCopy.record_id == record.id)
                        .order_by(col(ElectronicCopy.id))).all()
    entity = _sub(block, "文件实体")
    _sub(entity, "聚合层次", {"volume": "案卷", "file": "文件"}.get(record.level, "文件"))
    source = _sub(entity, "来源")
    _sub(source, "档案馆代码", fonds.archive_code if fonds and fonds.archive_code else "")
    _sub(source, "全宗名称", fonds.name if fonds else "")
    _sub(source, "立档单位名称", fonds.name if fonds else "")
    _sub(entity, "电子文件号", record.reference_code)
    _sub(entity, "档号", record.reference_code)
    if volume is not None:
        _sub(entity, "所属案卷", volume.reference_code)
    described = _sub(entity, "内容描述")
    for name, tag in _DESCRIPTION:
        value = getattr(record, name)
        if value is not None and value != "":
            _sub(described, tag, value.isoformat() if isinstance(value, date) else value)
    form = _sub(entity, "形式特征")
    _sub(form, "文件组合类型", "组合文件" if record.level == "volume" else "单件")
    _sub(form, "页数", record.pages if record.pages is not None else "")
    _sub(form, "文档数量", len(held))
    _sub(_sub(entity, "权限管理"), "控制标识", register_terms.ACCESS_ZH[record.access])
    _sub(entity, "扩展信息", json.dumps(record.extra or {}, ensure_ascii=False, sort_keys=True))
    data = _sub(entity, "文件数据")
    for number, copy in enumerate(held, start=1):
        blob = store.path_of(copy.sha256).read_bytes()
        document = _sub(data, "文档", **{"文档标识符": f"修改0-文档{number}"})
        _sub(document, "文档序号", number)
        coded = _sub(_sub(document, "文档数据", **{"文档数据标识符": f"修改0-文档{number}-数据"}),
                     "编码", **{"编码标识符": f"修改0-文档{number}-数据-编码"})
        properties = _sub(coded, "电子属性")
        _sub(properties, "格式信息", copy.format_name)
        _sub(properties, "计算机文件名", copy.file_name)
        _sub(properties, "计算机文件大小", len(blob))
        _sub(properties, "文档创建程序", "")
        _sub(properties, "校验码", hashlib.sha256(blob).hexdigest(), **{"算法": "SHA-256"})
        _sub(coded, "数字化属性")
        _sub(coded, "编码描述", "本封装包中“编码数据”元素存储的是计算机文件二进制流的Base64编码")
        _sub(coded, "反编码关键字", "base64")
        _sub(coded, "编码数据", base64.b64encode(blob).decode("ascii"))


def _text(parent: ET.Element | None, tag: str) -> str | None:
    if parent is None:
        return None
    found = parent.find(f"e:{tag}", _NS)
    return found.text.strip() if found is not None and found.text and found.text.strip() else None


def import_package(session: Session, store: CopyStore, data: bytes, *, actor: str,
                   max_bytes: int) -> Record:
    """Create the record a package describes (a volume: with its files), with their copies;
    every document's digest is checked before anything is written. Returns the first record."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise Invalid("the package is not well-formed XML: {exc}", exc=exc, field="file") from exc
    if root.tag != _q(ROOT):
        raise Invalid("the package's root is {tag}, not {ROOT} in {NAMESPACE}",
                      tag=root.tag, ROOT=ROOT, NAMESPACE=NAMESPACE,
                      field="file")
    entities = root.findall("e:被签名对象/e:封装内容/e:文件实体块/e:文件实体", _NS)
    if not entities:
        raise Invalid("the package holds no 文件实体 (封装内容 → 文件实体块 → 文件实体)",
                      field="file")
    read = [(entity, _documents(entity)) for entity in entities]
    _check_fingerprint(root)
    made: list[Record] = []
    for entity, documents in read:
        wanted = _description(entity)
        if wanted.volume is None and made and made[0].level == "volume":
            wanted.volume = made[0].reference_code
        record = records.create_record(session, wanted, actor=actor)
        session.flush()
        for file_name, blob in documents:
            stored = store.put_bytes(blob, max_bytes)
            copies.add_copy(session, reference_code=record.reference_code, stored=stored,
                            file_name=file_name, actor=actor, max_bytes=max_bytes)
        made.append(record)
    return made[0]


def _documents(entity: ET.Element) -> list[tuple[str, bytes]]:
    """Each 文档 of an entity as (file name, bytes), its size and digest checked."""
    ref = _text(entity, "档号") or _text(entity, "电子文件号") or "?"
    documents = []
    for document in entity.findall("e:文件数据/e:文档", _NS):
        name = document.get("文档标识符") or "?"
        coded = document.find("e:文档数据/e:编码", _NS)
        properties = coded.find("e:电子属性", _NS) if coded is not None else None
        file_name = _text(properties, "计算机文件名") or name
        label = f"{name} ({file_name}) of {ref}"
        try:
            blob = base64.b64decode(_text(coded, "编码数据") or "", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise Invalid("document {label}: its 编码数据 is not base64",
                          label=label, field="file") from exc
        digest = properties.find("e:校验码", _NS) if properties is not None else None
        algorithm = ((digest.get("算法") or "SHA-256").upper().replace("-", "")
                     if digest is not None else "")
        expected = (digest.text or "").strip().lower() if digest is not None else ""
        if algorithm == "SHA256":
            actual = hashlib.sha256(blob).hexdigest()
        elif algorithm == "SM3" and "sm3" in hashlib.algorithms_available:
            actual = hashlib.new("sm3", blob).hexdigest()
        else:
            raise Invalid("document {label}: no digest this archive can verify ({algorithm})",
                          label=label, algorithm=algorithm or 'none', field="file")
        if actual != expected:
            raise Invalid("document {label}: the data's {algorithm} digest is {actual}…, the "
                          "package says {expected}…",
                          label=label, algorithm=algorithm, actual=actual[:16],
                          expected=expected[:16], field="file")
        size = _text(properties, "计算机文件大小")
        if size is not None and size.isdigit() and int(size) != len(blob):
            raise Invalid("document {label}: {length:,} bytes, the package says {size:,}",
                          label=label, length=len(blob), size=int(size),
                          field="file")
        documents.append((file_name, blob))
    return documents


def _description(entity: ET.Element) -> RecordCreate:
    described = entity.find("e:内容描述", _NS)
    fields: dict[str, Any] = {name: _text(described, tag) for name, tag in _DESCRIPTION}
    fields = {k: v for k, v in fields.items() if v is not None}
    fields["reference_code"] = _text(entity, "档号") or _text(entity, "电子文件号") or ""
    if volume := _text(entity, "所属案卷"):
        fields["volume"] = volume
    extra = _text(entity, "扩展信息")
    try:
        fields["metadata"] = json.loads(extra) if extra else {}
    except json.JSONDecodeError as exc:
        raise Invalid("the package's 扩展信息 is not JSON", field="file") from exc
    try:
        return RecordCreate.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "内容描述"
        raise Invalid("the description of {reference_code} does not read: {where}: {problem}",
                      reference_code=fields['reference_code'], where=where,
                      problem=error['msg'], field="file") from exc


def _check_fingerprint(root: ET.Element) -> None:
    """Refuse a package whose 被签名对象 no longer matches the digest written beside it."""
    signed = root.find("e:被签名对象", _NS)
    written = root.find("e:电子签名块/e:签名/e:签名结果", _NS)
    algorithm = _text(root.find("e:电子签名块/e:签名", _NS), "签名算法标识")
    if signed is None or written is None or not (written.text or "").strip():
        return  # a package from elsewhere may carry no digest; its documents were checked
    if algorithm and algorithm.upper().replace("-", "") != "SHA256":
        return  # a real signature (SM2 ...) this archive holds no certificate to verify
    if fingerprint(signed) != (written.text or "").strip().lower():
        title = _text(signed.find("e:封装内容/e:文件实体块/e:文件实体", _NS), "档号") or "?"
        raise Invalid("the package of {title} was altered after it was made: its 被签名对象 no longer "
                      "matches the digest in its 电子签名块",
                      title=title, field="file")
