"""`archive-twin …`: init, serve, demo, simulate, users add, audit verify, labels, import, copies."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Callable

from sqlmodel import Session

from server.db import make_engine, migrate, session_scope, writing
from server.services.people import CLEARANCE_ORDER, HIGHEST_CLEARANCE
from server.settings import Settings, UnsafeSettings

log = logging.getLogger(__name__)

DEMO_USERS = (
    ("admin", "admin", "admin-demo-pw"),
    ("archivist", "archivist", "archivist-demo-pw"),
    ("staff", "staff", "staff-demo-pw"),
    ("facilities", "facilities", "facilities-demo-pw"),
    ("borrower", "borrower", "borrower-demo-pw"),
)


def _password(given: str | None, prompt: str) -> str:
    if given:
        return given
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("again: ") != first:
            raise SystemExit("the two passwords differ; nothing was changed")
        return first
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise SystemExit("no password on standard input; nothing was changed")
    return line


def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    """Create or migrate the database; create the first admin when asked."""
    from server.services import people

    migrate(settings.db_url)
    print(f"database ready: {_safe_url(settings.db_url)}")
    if args.admin:
        engine = make_engine(settings.db_url)
        with session_scope(engine) as session:
            if people.get_user(session, args.admin):
                print(f"user {args.admin} exists already; left as it was")
            else:
                people.create_user(session, username=args.admin, role="admin",
                                   password=_password(args.password, f"password for {args.admin}: "))
                print(f"admin {args.admin} created")
    return 0


def cmd_users_add(args: argparse.Namespace, settings: Settings) -> int:
    """Add a person with a role (and clearance)."""
    from server.services import people
    from server.services.errors import DomainError

    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as session:
            people.create_user(session, username=args.username, role=args.role,
                               clearance=args.clearance, full_name=args.full_name,
                               email=args.email, password=_password(args.password, f"password for {args.username}: "))
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    print(f"user {args.username} added as {args.role}")
    return 0


def cmd_users_change(args: argparse.Namespace, settings: Settings) -> int:
    """Disable or enable a person, or give them a new password; their sessions end at once."""
    from server.services import people
    from server.services.errors import DomainError

    change: dict[str, object] = {}
    if args.users_verb in ("disable", "enable"):
        change["disabled"] = args.users_verb == "disable"
    elif args.users_verb == "email":
        change["email"], change["clear_email"] = args.address or None, not args.address
    else:
        change["password"] = _password(None, f"new password for {args.username}: ")
    try:
        with session_scope(make_engine(settings.db_url)) as session:
            people.change_user(session, args.username, actor=f"cli:{getpass.getuser()}",
                               **change)  # type: ignore[arg-type]
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    done = {"disable": "disabled; their sessions have ended",
            "enable": "enabled; they may sign in again",
            "password": "has a new password; their sessions have ended",
            "email": f"gets reminders at {args.address}" if getattr(args, "address", None)
            else "has no e-mail address now"}[args.users_verb]
    print(f"user {args.username} {done}")
    return 0


def _antenna_map(pairs: list[str]) -> dict[str, str]:
    """--antenna NUMBER=LOCATION options as the API's antenna map."""
    antennas = {}
    for pair in pairs:
        number, sep, code = pair.partition("=")
        if not sep:
            raise ValueError(f"--antenna takes NUMBER=LOCATION, e.g. 1=L00001042 (got {pair!r})")
        antennas[number.strip()] = code.strip()
    return antennas


def _device_change(run: Callable[[Session], str], settings: Settings) -> int:
    """Run one change to the registry in a transaction; print what it did or why not."""
    from server.services.errors import DomainError

    try:
        with session_scope(make_engine(settings.db_url)) as session:
            said = run(session)
    except DomainError as exc:
        field = f" ({exc.field})" if exc.field else ""
        print(f"error{field}: {exc.message}", file=sys.stderr)
        return 2
    print(said)
    return 0


def cmd_devices_add(args: argparse.Namespace, settings: Settings) -> int:
    """Register a device as POST /api/devices does."""

    from server.models.devices import DeviceCreate
    from server.services import devices

    try:
        data = DeviceCreate(id=args.id, type=args.type, role=args.role,
                            antennas=_antenna_map(args.antenna or []),
                            room=args.room, report_interval_s=args.interval)
    except ValueError as exc:
        print(f"error: {_first_problem(exc)}", file=sys.stderr)
        return 2

    def run(session: Session) -> str:
        devices.register(session, data, actor=args.actor)
        return f"device {args.id} registered as {args.type}{f' ({args.role})' if args.role else ''}"
    return _device_change(run, settings)


def cmd_devices_correct(args: argparse.Namespace, settings: Settings) -> int:
    """Correct a device as PATCH /api/devices/{id} does: only what is given changes."""
    from server.models.devices import DeviceUpdate
    from server.services import devices

    given: dict[str, object] = {}
    if args.role is not None:
        given["role"] = None if args.role == "none" else args.role
    if args.antenna:
        given["antennas"] = args.antenna
    if args.room is not None:
        given["room"] = args.room or None
    if args.interval is not None:
        given["report_interval_s"] = args.interval
    if not given:
        print("error: nothing to correct: give --role, --antenna, --room or --interval",
              file=sys.stderr)
        return 2
    try:
        if "antennas" in given:
            given["antennas"] = _antenna_map(args.antenna)
        data = DeviceUpdate(**given)  # type: ignore[arg-type]
    except ValueError as exc:
        print(f"error: {_first_problem(exc)}", file=sys.stderr)
        return 2

    def run(session: Session) -> str:
        device = devices.correct(session, args.id, data, actor=args.actor)
        shown = devices.present(session, [device])[0]
        where = shown.room or ", ".join(f"{a}→{c}" for a, c in sorted(shown.antennas.items())) or "-"
        return f"device {args.id} corrected: {shown.role or shown.type}, {where}"
    return _device_change(run, settings)


def cmd_devices_retire(args: argparse.Namespace, settings: Settings) -> int:
    """Retire a device as DELETE /api/devices/{id} does."""
    from server.services import devices

    def run(session: Session) -> str:
        devices.retire(session, args.id, actor=args.actor)
        return f"device {args.id} retired (what it sends from now on is kept as a reject)"
    return _device_change(run, settings)


def _first_problem(exc: ValueError) -> str:
    """The first problem of a validation error, or the error itself, in one line."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        problem = exc.errors()[0]
        return f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}"
    return str(exc)


def cmd_devices_list(args: argparse.Namespace, settings: Settings) -> int:
    """Registered devices, one line each."""
    from server.services import devices

    with Session(make_engine(settings.db_url)) as session:
        rows, total = devices.list_devices(session, type=args.type, limit=500)
        shown = devices.present(session, rows)
    for d in shown:
        where = d.room or ", ".join(f"{a}→{c}" for a, c in sorted(d.antennas.items())) or "-"
        seen = d.last_seen_at.isoformat(timespec="seconds") if d.last_seen_at else "never"
        print(f"{d.id:<24} {d.type:<8} {d.role or '-':<9} {d.state:<8} {seen:<26} {where}")
    print(f"{total} device{'' if total == 1 else 's'}" + (f" (first {len(shown)} shown)" if total > len(shown) else ""))
    return 0


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Walk the audit chain; exit 1 at the first altered or removed entry."""
    from server.services import audit

    with Session(make_engine(settings.db_url)) as session:
        checked, broken = audit.verify(session)
        if broken is None and args.anchor:
            try:
                broken = audit.check_anchor(session, args.anchor)
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        newest = audit.head(session)
    if broken:
        print(f"audit log BROKEN at entry {broken.entry_id}: {broken.reason} "
              f"({checked} entries before it hold)")
        return 1
    print(f"audit log intact: {checked} entries verified"
          + (f", and it still holds the anchor {args.anchor.split(':')[0]}" if args.anchor else ""))
    if newest:
        print(f"head: {newest[0]}:{newest[1]}")
        print("  keep this line outside the database and pass it as --anchor next time: "
              "then cutting off the newest entries is found too")
    return 0


def cmd_labels_epc(args: argparse.Namespace, settings: Settings) -> int:
    """Print every form of one identifier: a code, a QR URL, or any GIAI-96 / SGLN-96 tag."""
    from labels import epc
    from labels.identifiers import CODE, QR, InvalidIdentifier, all_forms, code_for, identify

    prefix, site = settings.epc_company_prefix, settings.site_number
    try:
        tag = epc.read_tag(args.identifier)
        if tag is None:
            found = identify(args.identifier, company_prefix=prefix, site_number=site)
            if found is None:
                raise InvalidIdentifier(
                    f"{args.identifier!r} is not a box or location code, QR URL or EPC"
                )
            forms = all_forms(found.code, company_prefix=prefix, base_url=settings.base_url,
                              site_number=site)
            print(f"kind         {found.kind}")
            for name, value in forms.items():
                print(f"{name:<12} {value}")
            return 0
    except InvalidIdentifier as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # A valid tag is printed whoever's it is (GS1's own examples, a neighbour's asset), and
    # then it is said whether it names one of this archive's boxes or locations.
    print(f"scheme       {tag.scheme.upper()}")
    print(f"filter       {tag.filter_value}")
    print(f"company      {tag.company_prefix}")
    print(f"reference    {tag.reference}")
    if tag.extension is not None:
        print(f"extension    {tag.extension}")
    print(f"epc_hex      {tag.hex}")
    print(f"epc_uri      {tag.pure_uri}")
    print(f"epc_tag_uri  {tag.tag_uri}")
    print(f"gs1          {tag.gs1_element_string}")
    try:
        kind, number = epc.box_or_location(tag, company_prefix=prefix, site_number=site)
    except InvalidIdentifier as exc:
        print(f"archive      not one of this archive's (prefix {prefix}, site {site}): {exc}")
        return 0
    forms = all_forms(code_for(kind, number), company_prefix=prefix,
                      base_url=settings.base_url, site_number=site)
    print(f"kind         {kind}")
    print(f"{CODE:<12} {forms[CODE]}")
    print(f"{QR:<12} {forms[QR]}")
    return 0


def cmd_labels_print(args: argparse.Namespace, settings: Settings) -> int:
    """Render labels for codes or a range into one PDF or ZPL file, with progress."""
    from labels.render import render
    from server.services import labelling
    from server.services.errors import DomainError

    scheme = settings.code_scheme
    try:
        codes = list(args.codes)
        if args.range:
            first, _, last = args.range.partition("-")
            codes += labelling.expand_range(first, last or first)
        with Session(make_engine(settings.db_url)) as session:
            found = labelling.labels_for(session, codes, scheme=scheme, clearance=HIGHEST_CLEARANCE)
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2

    def progress(done: int, total: int) -> None:
        width = 30
        filled = width * done // total
        print(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total} labels",
              end="" if done < total else "\n", file=sys.stderr, flush=True)

    options = {"dpi": args.dpi, "rfid": not args.no_rfid} if args.format == "zpl" else {
        "on_progress": progress}
    try:
        body = render(found, output=args.format, layout=args.layout, **options)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with open(args.out, "wb") as out:
        out.write(body)
    print(f"{len(found)} labels written to {args.out} ({len(body):,} bytes)")
    return 0


def _progress_bar(label: str):
    """A progress callback drawing `label [#####.....] done/total` on standard error."""

    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        end = "\n" if done >= total else ""
        print(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end=end,
              file=sys.stderr, flush=True)

    return show


def cmd_import_records(args: argparse.Namespace, settings: Settings) -> int:
    """Import a register of records (CSV or XLSX); report every problem."""
    from server.services import imports
    from server.services.errors import DomainError

    try:
        with open(args.file, "rb") as stream:
            data = stream.read()
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    scheme = settings.code_scheme
    bars: dict[str, object] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bars.setdefault(stage, _progress_bar(f"{stage:>8}"))(done, total)  # type: ignore[operator]

    with Session(writing(make_engine(settings.db_url)), expire_on_commit=False) as session:
        try:
            report = imports.import_records(
                session, data, scheme=scheme, actor=f"cli:{getpass.getuser()}",
                file_name=args.file, skip_invalid=args.skip_invalid,
                create_missing=args.create_missing, on_progress=progress,
                language=args.lang)
        except DomainError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 2
        if report.imported:
            session.commit()
        else:
            session.rollback()
    for problem in report.problems:
        print(f"row {problem.row}, column {problem.column} ({problem.value!r}): {problem.message}")
    if not report.imported:
        print(f"nothing imported: {len(report.problems)} problem(s) in {report.rows} rows; "
              "fix them or use --skip-invalid")
        return 1
    print(f"imported {report.rows} rows: {report.created} created, {report.updated} updated, "
          f"{report.unchanged} unchanged, {report.skipped} skipped; "
          f"{report.boxes_created} boxes and {report.locations_created} locations created"
          f" (register {report.import_id})")
    for gap in report.gaps:
        print(f"gap in {gap.klass}: item(s) {', '.join(f'{n:04d}' for n in gap.missing)} missing")
    return 0


def cmd_copies_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Re-hash every stored copy; exit 1 when any no longer matches or is missing."""
    from server.services.copies import CopyStore
    from server.services.fixity import verify_copies

    report = verify_copies(make_engine(settings.db_url), CopyStore(settings.copies_path),
                           actor=f"cli:{getpass.getuser()}",
                           on_progress=_progress_bar("verifying"))
    for copy_id in report.mismatched:
        print(f"copy {copy_id}: bytes no longer match the recorded SHA-256")
    for copy_id in report.missing:
        print(f"copy {copy_id}: file missing from the store")
    for error in report.errors:
        print(f"could not check {error}")
    print(f"{report.files} files, {report.copies} copies: {report.ok} ok, "
          f"{len(report.mismatched)} mismatched, {len(report.missing)} missing, "
          f"{len(report.errors)} errors")
    return 1 if report.mismatched or report.missing or report.errors else 0


def cmd_loans_remind(args: argparse.Namespace, settings: Settings) -> int:
    """Run the overdue job now: mark overdue loans, send the reminder stages they reached."""
    from server.clock import now
    from server.db import session_scope
    from server.services import reminders

    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        done = reminders.remind(session, today=now().date(), stages=settings.loan_reminder_days)
    print(f"{done.marked_overdue} loans marked overdue, {done.reminders} reminders recorded")
    if settings.smtp_url:
        with session_scope(engine) as session:
            mailed = reminders.send_mail(session, settings)
        print(f"{mailed} reminders e-mailed")
    engine.dispose()
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """Run the DA/T 70 four-property check over a scope; exit 1 when an item fails."""
    from server.models.description import CheckRequest, CheckScope
    from server.services import checks
    from server.services.copies import CopyStore
    from server.services.errors import DomainError

    scope = CheckScope.model_validate({"fonds": args.fonds, "year": args.year,
                                       "import": args.register, "records": args.records or None})
    context = checks.CheckContext(store=CopyStore(settings.copies_path),
                                  allowed_formats=tuple(settings.allowed_formats),
                                  clamd=settings.clamd, backups=settings.backups_path)
    try:
        with session_scope(make_engine(settings.db_url)) as session:
            check = checks.run_check(session, CheckRequest(stage=args.stage, scope=scope),
                                     context=context, actor=f"cli:{getpass.getuser()}",
                                     clearance=HIGHEST_CLEARANCE)
            items, check_id = list(check.items), check.id
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    for item in items:
        print(f"{item['result']:>11}  {item['property']:<12} {item['item']}")
        for failure in item["failures"]:
            copy = f" copy {failure['copy']}" if failure.get("copy") else ""
            print(f"{'':13}- {failure['record']}{copy}: {failure['reason']}")
        if item.get("why"):
            print(f"{'':13}({item['why']})")
    failed = sum(i["result"] == "fail" for i in items)
    print(f"check {check_id}: {len(items)} items, {failed} failed")
    return 1 if failed else 0


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    """Write one backup archive (database, copy store, SHA-256 manifest); print its path."""
    from pathlib import Path

    from server.services import backups
    from server.services.errors import DomainError

    engine = make_engine(settings.db_url)
    try:
        path = backups.take(engine, settings.db_url, settings.copies_path,
                            Path(args.to) if args.to else settings.backups_path,
                            on_progress=lambda line: print(f"  {line}", file=sys.stderr))
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"error: {exc.cmd[0]} failed: {exc.stderr.decode(errors='replace').strip()}",
              file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(path)
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    """Restore a backup archive into the configured, empty database and copy store."""
    from pathlib import Path

    from server.services import backups
    from server.services.errors import DomainError

    migrate(settings.db_url)  # an empty database of this version's shape, then overwritten
    engine = make_engine(settings.db_url)
    try:
        done = backups.restore(Path(args.archive), engine, settings.db_url, settings.copies_path)
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"error: {exc.cmd[0]} failed: {exc.stderr.decode(errors='replace').strip()}",
              file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    migrate(settings.db_url)  # a backup of an older version is brought up to this one
    print(f"restored the backup taken {done.taken_at} into {_safe_url(settings.db_url)}")
    for table, rows in sorted(done.rows.items()):
        if rows:
            print(f"  {table:<20} {rows:>10,} rows")
    print(f"  {done.copies:,} electronic copies into {settings.copies_path}")
    if done.audit_head:
        print(f"  audit head {done.audit_head[0]}:{done.audit_head[1]} "
              "(check it with `archive-twin audit verify --anchor ...`)")
    return 0


def _free_port(host: str, wanted: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind((host, wanted))
            return wanted
        except OSError:
            probe.bind((host, 0))
            return probe.getsockname()[1]


def _serve(settings: Settings, host: str, port: int, workers: int = 1, *,
           verbose: bool = False) -> None:
    import uvicorn

    if workers > 1:
        # Each worker builds its app from the environment.
        uvicorn.run("server.app:app_from_env", factory=True, host=host, port=port,
                    workers=workers, log_level="info", access_log=verbose)
        return
    from server.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", access_log=verbose)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the server against the configured database and broker."""
    try:
        settings.check_safe_to_serve()
    except UnsafeSettings as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.workers > 1 and settings.devices_enabled and not settings.mqtt_url:
        print("error: several workers need a broker they share: set ARCHIVE_TWIN_MQTT_URL "
              "(and ARCHIVE_TWIN_MQTT_SHARED_GROUP so they split the device stream)",
              file=sys.stderr)
        return 2
    migrate(settings.db_url)
    _serve(settings, args.host, args.port, args.workers, verbose=args.verbose)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Run the whole system on embedded defaults with a sample archive and demo logins."""
    from server.services import audit, people, sample_archive

    port = _free_port(args.host, args.port)
    base = f"http://{args.host}:{port}"
    settings = settings.model_copy(update={
        "demo": True, "base_url": os.environ.get("ARCHIVE_TWIN_BASE_URL", base),
        "secret_key": _demo_key(settings), "simulate": True,
    })
    migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        refusal = _not_the_demos(session, settings)
        if refusal:
            print(f"error: {refusal}", file=sys.stderr)
            engine.dispose()
            return 2
        if sample_archive.is_empty(session):
            print("seeding a sample archive (two rooms of compact shelving)…", flush=True)
            scheme = settings.code_scheme
            counts = sample_archive.seed(session, scheme=scheme)
            print(f"  {counts['locations']} locations, {counts['boxes']} boxes, "
                  f"{counts['records']} records")
            audit.record(session, actor="demo", action="seed", entity="archive",
                         entity_id=DEMO_MARK, after={"by": "archive-twin demo"})
        for username, role, password in DEMO_USERS:
            if not people.get_user(session, username):
                people.create_user(session, username=username, role=role, password=password)
        sample_archive.register_devices(session, actor="demo")
    engine.dispose()
    print()
    print(f"archive-twin demo on {base}")
    print(f"  dashboard   {base}/")
    print(f"  API docs    {base}/docs")
    print(f"  database    {_safe_url(settings.db_url)}")
    print("  sign in as (username / password):")
    for username, role, password in DEMO_USERS:
        print(f"    {username:<11} / {password:<20} ({role})")
    print("  more faults beside it: archive-twin simulate --fault hvac-failure "
          "(finds this demo's broker)")
    print("  stop with Ctrl+C (run with --verbose to see every request)", flush=True)
    if not settings.simulate:
        _serve(settings, args.host, port, verbose=args.verbose)
        return 0
    _serve_with_simulated_room(settings, args.host, port, base, verbose=args.verbose)
    return 0


DEMO_MARK = "demo"  # the audit entry (entity archive) that says the demo seeded this database


def _demo_key(settings: Settings) -> str:
    """The demo's signing key: random, made once, kept only in the demo's data dir."""
    import secrets

    from server.settings import DEMO_KEY_FILE

    path = settings.data_dir / DEMO_KEY_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(key + "\n")
    return key


def _not_the_demos(session: Session, settings: Settings) -> str | None:
    """Why the demo may not use this database (it holds data the demo did not seed), or None."""
    from sqlmodel import select

    from server.models.audit import AuditEntry
    from server.models.people import User
    from server.services import sample_archive

    if sample_archive.is_empty(session) and session.exec(select(User.id).limit(1)).first() is None:
        return None
    seeded = session.exec(select(AuditEntry.id).where(AuditEntry.entity == "archive")
                          .where(AuditEntry.entity_id == DEMO_MARK).limit(1)).first()
    if seeded is not None:
        return None
    return (f"the configured database ({_safe_url(settings.db_url)}) holds data the demo did "
            "not seed; the demo would add its well-known logins to it. Run the demo on a "
            "database of its own: unset ARCHIVE_TWIN_DATABASE_URL and point ARCHIVE_TWIN_DATA_DIR "
            "at an empty directory (e.g. ARCHIVE_TWIN_DATA_DIR=./var/demo archive-twin demo), "
            "or set ARCHIVE_TWIN_DATABASE_URL to an empty database.")


def _serve_with_simulated_room(settings: Settings, host: str, port: int, base: str, *,
                               verbose: bool = False) -> None:
    """Serve, and once the server answers run the virtual room against its broker."""
    import uvicorn
    from sqlmodel import col, select

    from server.app import create_app
    from server.models.devices import Device, DeviceCreate
    from server.models.places import Location
    from server.services import devices
    from simulators.serial_lines import line_devices, open_lines
    from simulators.virtual_room import RoomOptions, RoomRunner

    lines = open_lines("demo")  # pty serial devices; the server opens their other ends
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        # registered before the ports open, so their first words are not kept as rejects
        room = session.exec(select(Location.code).where(Location.kind == "room")
                            .order_by(col(Location.id))).first()
        for spec in line_devices(lines, room):
            if session.get(Device, spec.id) is None:
                devices.register(session, DeviceCreate(
                    id=spec.id, type=spec.type, role=spec.role, room=spec.room,  # type: ignore[arg-type]
                    report_interval_s=spec.report_interval_s), actor="demo")
    engine.dispose()
    settings = settings.model_copy(update={
        "serial_devices": [*settings.serial_devices, *(line.spec for line in lines)]})
    app = create_app(settings)
    _, user, password = next(u for u in DEMO_USERS if u[1] == "facilities")

    def broker_url() -> str | None:
        link = app.state.broker_link
        return link.mqtt_url if link is not None else None

    runner = RoomRunner(base, broker_url, username=user, password=password, lines=lines,
                        options=RoomOptions(root=settings.mqtt_topic_root))
    runner.start()
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=verbose)
    finally:
        runner.stop()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    """Run the simulated archive room against a running server and its broker."""
    import signal
    import time

    from server.device_link import embedded_broker_address
    from simulators.faults import UnknownFault
    from simulators.serial_lines import open_lines
    from simulators.virtual_room import RoomOptions, RoomRunner

    mqtt = args.mqtt or settings.mqtt_url or embedded_broker_address(settings)
    if not mqtt:
        print("error: no broker; pass --mqtt mqtt://host:port or set ARCHIVE_TWIN_MQTT_URL. "
              f"No server with an embedded broker runs on the data dir {settings.data_dir} "
              "(set ARCHIVE_TWIN_DATA_DIR to the demo's, or start `archive-twin demo` first)",
              file=sys.stderr)
        return 2
    if not (args.mqtt or settings.mqtt_url):
        print(f"using the embedded broker of the server on {settings.data_dir}: {mqtt}", flush=True)
    password = _password(args.password, f"password for {args.user}: ")
    lines = open_lines() if args.serial else []
    try:
        runner = RoomRunner(args.api, mqtt, username=args.user, password=password, lines=lines,
                            faults=args.fault or (), wait_s=30,
                            options=RoomOptions(speed=args.speed, root=settings.mqtt_topic_root))
    except UnknownFault as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(f"serial line {line.spec}  (add it to the server's ARCHIVE_TWIN_SERIAL_DEVICES)")
    signal.signal(signal.SIGTERM, _interrupt)  # stop as cleanly on `kill` as on Ctrl+C
    runner.start()
    try:
        while runner.room is None and runner.failure is None:
            time.sleep(0.2)
        if runner.failure:
            print(f"error: {runner.failure}", file=sys.stderr)
            return 1
        print(f"simulating the room at {args.speed:g}x against {args.api}; stop with Ctrl+C",
              flush=True)
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        return 0
    finally:
        runner.stop()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def build_parser() -> argparse.ArgumentParser:
    """The command line's verbs and options."""
    parser = argparse.ArgumentParser(prog="archive-twin", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    verbs = parser.add_subparsers(dest="verb", required=True)

    p = verbs.add_parser("init", help="create or migrate the database; create the first admin")
    p.add_argument("--admin", metavar="USERNAME", help="create this admin if missing")
    p.add_argument("--password", help="the admin's password (default: read from stdin)")
    p.set_defaults(run=cmd_init)

    p = verbs.add_parser("serve", help="run the server (settings from ARCHIVE_TWIN_*)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                   help="also print every HTTP request and each scheduled run")
    p.set_defaults(run=cmd_serve)

    p = verbs.add_parser("demo", help="run the whole system on embedded defaults")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                   help="also print every HTTP request and each scheduled run")
    p.set_defaults(run=cmd_demo)

    p = verbs.add_parser("simulate", help="run the simulated archive room against a server")
    p.add_argument("--api", default="http://127.0.0.1:8000", help="the server's base URL")
    p.add_argument("--mqtt", help="broker URL (default: ARCHIVE_TWIN_MQTT_URL)")
    p.add_argument("--user", default="facilities", help="who reads the layout")
    p.add_argument("--password", help="default: read one line from standard input")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    p.add_argument("--fault", action="append", metavar="NAME[:TARGET]",
                   help="start with a fault: hvac-failure[:ROOM], sensor-dropout[:SENSOR], "
                        "serial-garbage, unauthorized-removal[:BOX] (repeatable)")
    p.add_argument("--serial", action="store_true",
                   help="also open pty serial lines (scanner, R2000 reader, XY-MD02 sensor)")
    p.set_defaults(run=cmd_simulate)

    users = verbs.add_parser("users", help="people who sign in").add_subparsers(
        dest="users_verb", required=True)
    p = users.add_parser("add", help="add a person")
    p.add_argument("username")
    p.add_argument("--role", required=True,
                   choices=["admin", "archivist", "staff", "facilities", "borrower"])
    p.add_argument("--clearance", choices=list(CLEARANCE_ORDER))
    p.add_argument("--full-name")
    p.add_argument("--email", help="where loan reminders go")
    p.add_argument("--password", help="default: read one line from standard input")
    p.set_defaults(run=cmd_users_add)
    p = users.add_parser("email", help="set (or, without an address, clear) a person's e-mail "
                                       "for reminders")
    p.add_argument("username")
    p.add_argument("address", nargs="?", default="")
    p.set_defaults(run=cmd_users_change)
    for verb, text in (("disable", "stop a person signing in; ends their sessions"),
                       ("enable", "let a disabled person sign in again"),
                       ("password", "set a new password (one line on standard input); "
                                    "ends their sessions")):
        p = users.add_parser(verb, help=text)
        p.add_argument("username")
        p.set_defaults(run=cmd_users_change)

    registry = verbs.add_parser("devices", help="the device registry").add_subparsers(
        dest="devices_verb", required=True)
    p = registry.add_parser("add", help="register a reader, scanner, sensor or light")
    p.add_argument("id", help="the id the device uses in its topics, e.g. shelf-r1-u03")
    p.add_argument("--type", required=True, choices=("reader", "scanner", "sensor", "light"))
    p.add_argument("--role", choices=("shelf", "gate", "handheld"), help="readers only")
    p.add_argument("--antenna", action="append", metavar="N=LOCATION",
                   help="a shelf reader's antenna and the location it covers (repeat)")
    p.add_argument("--room", help="room code (gate readers and climate sensors)")
    p.add_argument("--interval", type=int, help="report interval in seconds")
    p.add_argument("--actor", default="cli", help="who to name in the audit log")
    p.set_defaults(run=cmd_devices_add)
    p = registry.add_parser("correct", help="correct a device's role, antennas, room or interval")
    p.add_argument("id")
    p.add_argument("--role", choices=("shelf", "gate", "handheld", "none"))
    p.add_argument("--antenna", action="append", metavar="NUMBER=LOCATION",
                   help="the whole new antenna map, one --antenna per antenna")
    p.add_argument("--room", help="room code ('' for none)")
    p.add_argument("--interval", type=int, metavar="SECONDS", help="report interval")
    p.add_argument("--actor", default="cli", help="who is recorded in the audit log")
    p.set_defaults(run=cmd_devices_correct)
    p = registry.add_parser("retire", help="take a device out of the registry")
    p.add_argument("id")
    p.add_argument("--actor", default="cli", help="who is recorded in the audit log")
    p.set_defaults(run=cmd_devices_retire)
    p = registry.add_parser("list", help="registered devices and their state")
    p.add_argument("--type", choices=("reader", "scanner", "sensor", "light"))
    p.set_defaults(run=cmd_devices_list)

    audit = verbs.add_parser("audit", help="the audit log").add_subparsers(
        dest="audit_verb", required=True)
    p = audit.add_parser("verify", help="check the hash chain; exit 1 when broken")
    p.add_argument("--anchor", metavar="ID:HASH",
                   help="a head printed by an earlier run; the log must still hold it")
    p.set_defaults(run=cmd_audit_verify)

    labels = verbs.add_parser("labels", help="identifiers and labels").add_subparsers(
        dest="labels_verb", required=True)
    p = labels.add_parser("epc", help="print every form of one identifier or EPC tag")
    p.add_argument("identifier", help="a code, QR URL, or a GIAI-96 / SGLN-96 EPC (hex or URI)")
    p.set_defaults(run=cmd_labels_epc)
    p = labels.add_parser("print", help="labels for codes or a range, as one PDF or ZPL file")
    p.add_argument("codes", nargs="*", help="box or location codes")
    p.add_argument("--range", metavar="FIRST-LAST", help="e.g. B00000001-B00000100")
    p.add_argument("--format", choices=["pdf", "zpl"], default="pdf")
    p.add_argument("--layout", help="a4-3x8 (default for PDF), a4-2x7, a4-2x4, 100x50, 60x40, "
                   "any A4 grid as a4-COLSxROWS, or a roll label as WIDTHxHEIGHT in mm")
    p.add_argument("--dpi", type=int, choices=[203, 300], default=203, help="ZPL resolution")
    p.add_argument("--no-rfid", action="store_true", help="ZPL without writing the tags")
    p.add_argument("--out", "-o", required=True, help="file to write")
    p.set_defaults(run=cmd_labels_print)

    imports = verbs.add_parser("import", help="bring in registers").add_subparsers(
        dest="import_verb", required=True)
    p = imports.add_parser("records", help="import records from a CSV (UTF-8/GB18030) or XLSX")
    p.add_argument("file")
    p.add_argument("--skip-invalid", action="store_true",
                   help="import the good rows and report the rest (default: all or nothing)")
    p.add_argument("--create-missing", action="store_true",
                   help="create the boxes and locations (given by path) the file names")
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the problems")
    p.set_defaults(run=cmd_import_records)

    p = verbs.add_parser("backup", help="write one backup archive: database, copies, manifest")
    p.add_argument("--to", metavar="DIR", help="where (default: ARCHIVE_TWIN_BACKUP_DIR or "
                                               "DATA_DIR/backups)")
    p.set_defaults(run=cmd_backup)
    p = verbs.add_parser("restore", help="restore a backup into the configured, empty database")
    p.add_argument("archive", metavar="FILE")
    p.set_defaults(run=cmd_restore)

    copies = verbs.add_parser("copies", help="electronic copies").add_subparsers(
        dest="copies_verb", required=True)
    p = copies.add_parser("verify", help="re-hash every stored copy; exit 1 on any mismatch")
    p.set_defaults(run=cmd_copies_verify)

    lending = verbs.add_parser("loans", help="lending").add_subparsers(  # lending (issue 10)
        dest="loans_verb", required=True)
    p = lending.add_parser("remind", help="mark overdue loans and send due reminders now")
    p.set_defaults(run=cmd_loans_remind)
    p = verbs.add_parser("check", help="the DA/T 70 four-property check (exit 1 when an item fails)")
    p.add_argument("--stage", choices=["filing", "transfer", "preservation"], default="filing")
    p.add_argument("--fonds")
    p.add_argument("--year", type=int)
    p.add_argument("--import", dest="register", type=int, help="a register import's id")
    p.add_argument("records", nargs="*", help="reference codes (default: the whole scope)")
    p.set_defaults(run=cmd_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `archive-twin` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        # A quiet console: what the server decided, not every scheduled run it made.
        for noisy in ("apscheduler", "alembic", "httpx", "simulators.broker_clients"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = Settings()
    except ValueError as exc:
        print(f"error in the ARCHIVE_TWIN_* settings: {exc}", file=sys.stderr)
        return 2
    return args.run(args, settings)


if __name__ == "__main__":
    sys.exit(main())
