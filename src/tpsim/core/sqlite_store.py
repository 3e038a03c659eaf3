"""The state store in an SQLite file: what ``tpsim serve --state PATH`` keeps across restarts.

The store is its own cache: everything stays in memory (a ``MemoryStore``) and roles read
and change their records as objects, many of them in place after keeping them (a
transaction's ids, a consent's state, a credential's sign counter). So writes are
**write-behind**: keeping or getting a record marks it dirty, and ``flush`` writes every
dirty record, the postings appended and the accounts and users added, in one transaction.
The router flushes before any message leaves the process (``serve.router``), so a
``kill -9`` loses only work done in-process that nobody outside has heard of.

    accounts  (address, blob)                 added once
    users     (fsp_id, user_id, blob)
    postings  (seq, account, amount, kind, ref, at, reservation)
                                              append-only: the ledger, readable with sqlite3
    records   (kind, key, blob)               replaced whole, or deleted, at each flush

A text that is no UTF-8 (lone surrogates: a header's bytes that are no UTF-8 as the edge
decodes them, or a JSON ``"\\ud800"``) is kept as its bytes (``surrogatepass``, a BLOB in
its TEXT column) and read back as the same text: one such key never stops the file from
being written.

A record that is an immutable value (a string, a tuple, a frozen dataclass) is only ever
replaced whole, so getting one does not make it dirty; any other record is taken to be
changed by whoever got it. A record found by iterating ``records(kind)`` must be kept
again (``put_record``) when it is changed.

WAL mode with ``synchronous=NORMAL``: each flush is atomic, and durable once it returns
against the process dying (``kill -9``); a power cut may lose the last flushes, never the
file's consistency. Records are pickled, so a state file runs code when it is opened:
open only files tpsim wrote (the file is the user's own, like its config). Types pickle
cannot take whole (a key object, a message's read-only headers) are reduced by the
``reducers`` the owner gives (``copyreg`` style: type → function returning the
``(callable, args)`` that rebuilds the value). One process holds a file at a time (an
``flock`` on it); a second is refused with ``StateFileError``, and so is a damaged file
(``PRAGMA quick_check`` at opening, then every row read back): one that loads may still
fail every later write, and tpsim would run on in memory with nothing written.
"""

from __future__ import annotations

import copyreg
import fcntl
import io
import pickle
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tpsim.core.errors import TpsimError
from tpsim.core.ledger import Posting, PostingKind
from tpsim.core.store import MemoryStore

if TYPE_CHECKING:
    from tpsim.core.bank import Account, User

Reducers = Mapping[type, Callable[[Any], tuple[Any, ...]]]

APPLICATION_ID = 0x74707369  # "tpsi": marks the file as tpsim's (PRAGMA application_id)
SCHEMA_VERSION = 1  # PRAGMA user_version of the layout below
_SCHEMA = """
CREATE TABLE accounts (address TEXT PRIMARY KEY, blob BLOB NOT NULL);
CREATE TABLE users (fsp_id TEXT, user_id TEXT, blob BLOB NOT NULL, PRIMARY KEY (fsp_id, user_id));
CREATE TABLE postings (
    seq INTEGER PRIMARY KEY, account TEXT NOT NULL, amount TEXT NOT NULL, kind TEXT NOT NULL,
    ref TEXT NOT NULL, at TEXT, reservation INTEGER
);
CREATE TABLE records (kind TEXT, key TEXT, blob BLOB NOT NULL, PRIMARY KEY (kind, key));
"""
_TABLES = ("accounts", "users", "postings", "records")
_ADD_ACCOUNT = "INSERT INTO accounts VALUES (?, ?)"
_ADD_USER = "INSERT OR REPLACE INTO users VALUES (?, ?, ?)"
_ADD_POSTING = "INSERT INTO postings VALUES (?, ?, ?, ?, ?, ?, ?)"
_DROP_RECORD = "DELETE FROM records WHERE kind = ? AND key = ?"
_CHANGE_RECORD = (  # updated where it is: its place in the order stays
    "INSERT INTO records VALUES (?, ?, ?)"
    " ON CONFLICT (kind, key) DO UPDATE SET blob = excluded.blob"
)
_ADD_RECORD = "INSERT OR REPLACE INTO records VALUES (?, ?, ?)"  # a new row: last in order
_IMMUTABLE = (str, bytes, int, float, Decimal, tuple, frozenset, type(None))


class StateFileError(TpsimError):
    """The state file cannot be used: not tpsim's, of another layout or version, held by
    another process, or a record that cannot be written; the message says what to do."""


class SqliteStore(MemoryStore):
    """A ``MemoryStore`` whose content is also in the SQLite file ``path`` (see the module
    docstring): opened (created when missing) and read whole here, written by ``flush``."""

    def __init__(self, path: str | Path, *, reducers: Reducers | None = None) -> None:
        file = _StateFile.open(Path(path), reducers or {})
        self._attach(file)
        try:
            self._load()
        except (sqlite3.DatabaseError, ValueError, TypeError, ArithmeticError) as exc:
            file.close()  # a row that does not read back (quick_check passed its pages)
            raise _damaged(file.path, exc) from None
        except BaseException:
            file.close()
            raise

    @classmethod
    def _over(cls, file: _StateFile) -> SqliteStore:
        store = cls.__new__(cls)
        store._attach(file)
        return store

    def _attach(self, file: _StateFile) -> None:
        MemoryStore.__init__(self)
        self._file: _StateFile | None = file
        self.path = file.path
        self._dirty: set[tuple[str, str]] = set()
        # Kept anew, in the order they were kept: new rows, last in the file as in memory.
        self._moved: dict[tuple[str, str], None] = {}
        self._new_accounts: list[Account] = []
        self._new_users: dict[tuple[str, str], User] = {}
        self._saved_postings = 0
        self._wipe = False

    # -- what the file holds --------------------------------------------------------

    def _load(self) -> None:
        file = self._require()
        for account in file.blobs("SELECT blob FROM accounts ORDER BY rowid"):
            MemoryStore.add_account(self, account)
        for user in file.blobs("SELECT blob FROM users ORDER BY rowid"):
            MemoryStore.add_user(self, user)
        for posting in file.postings():
            MemoryStore.append(self, posting)
        self._saved_postings = len(self._postings)
        for kind, key, record in file.records():
            MemoryStore.put_record(self, kind, key, record)

    # -- changes, marked for the next flush ------------------------------------------

    def add_account(self, account: Account) -> None:
        super().add_account(account)
        self._new_accounts.append(account)

    def add_user(self, user: User) -> None:
        super().add_user(user)
        self._new_users[(user.fsp_id, user.user_id)] = user

    def put_record(self, kind: str, key: str, record: object) -> None:
        held = self._records.get(kind)
        if held is None or key not in held:
            self._moved.pop((kind, key), None)
            self._moved[(kind, key)] = None
        super().put_record(kind, key, record)
        self._dirty.add((kind, key))

    def get_record(self, kind: str, key: str) -> object | None:
        record = super().get_record(kind, key)
        if record is not None and not _immutable(record):
            self._dirty.add((kind, key))  # the caller may change it in place
        return record

    def drop_record(self, kind: str, key: str) -> None:
        super().drop_record(kind, key)
        self._dirty.add((kind, key))

    def adopt(self, source: MemoryStore) -> None:
        """Hold exactly what ``source`` holds; the next flush replaces the file's content."""
        super().adopt(source)
        self._wipe = True
        self._new_accounts = list(self._accounts.values())
        self._new_users = dict(self._users)
        self._saved_postings = 0
        self._dirty = {(kind, key) for kind, held in self._records.items() for key in held}
        self._moved = dict.fromkeys(
            (kind, key) for kind, held in self._records.items() for key in held
        )

    # -- writing -----------------------------------------------------------------------

    def flush(self) -> None:
        """Write every change since the last flush in one transaction (nothing to do: no
        write). A record pickle refuses is left out, the rest written, then ``StateFileError``
        names it."""
        file = self._file
        if file is None or not self._pending():
            return
        rows, refused = self._record_rows(file)
        postings = self._postings[self._saved_postings :]
        writes: list[tuple[str, list[tuple[Any, ...]]]] = [
            (_ADD_ACCOUNT, [(a.address, file.dumps(a)) for a in self._new_accounts]),
            (_ADD_USER, [(*who, file.dumps(u)) for who, u in self._new_users.items()]),
            (_ADD_POSTING, [_row(p) for p in postings]),
            *rows,
        ]
        try:
            file.write(writes, wipe=self._wipe)
        except UnicodeEncodeError:
            # A text column's value holding lone surrogates (a header's bytes that are no
            # UTF-8, as the edge decodes them; a JSON "\ud800"): SQLite takes no such text,
            # and left dirty it would fail every later flush. Written again with such values
            # as their bytes (``_binary``), read back as the same text (``_text``): only a
            # flush that meets one pays for the second pass.
            file.write(
                [(sql, [_binary(row) for row in rows]) for sql, rows in writes], wipe=self._wipe
            )
        self._saved_postings += len(postings)
        self._wipe, self._new_accounts, self._new_users = False, [], {}
        self._dirty, self._moved = set(), {}
        if refused:
            raise StateFileError(f"{self.path}: these records cannot be pickled: {refused}")

    def _pending(self) -> bool:
        return bool(
            self._wipe
            or self._dirty
            or self._new_accounts
            or self._new_users
            or len(self._postings) > self._saved_postings
        )

    def _record_rows(
        self, file: _StateFile
    ) -> tuple[list[tuple[str, list[tuple[Any, ...]]]], list[str]]:
        """The dirty records as (statement, rows) to write, pickled before the transaction
        begins (a record pickle refuses leaves the file untouched), and those refused.

        A record kept anew is written last, as a new row (``INSERT OR REPLACE``), in the
        order they were kept: the file's order stays the order in memory. A changed one is
        updated where it is.
        """
        dropped: list[tuple[Any, ...]] = []
        changed: list[tuple[Any, ...]] = []
        moved: list[tuple[Any, ...]] = []
        refused: list[str] = []
        for kind, key in [*(k for k in self._dirty if k not in self._moved), *self._moved]:
            record = self._records.get(kind, {}).get(key)
            if record is None:
                dropped.append((kind, key))
                continue
            try:
                blob = file.dumps(record)
            except (pickle.PicklingError, TypeError, AttributeError) as exc:
                refused.append(f"{kind} {key} ({type(record).__name__}: {exc})")
                continue
            (moved if (kind, key) in self._moved else changed).append((kind, key, blob))
        statements = [(_DROP_RECORD, dropped), (_CHANGE_RECORD, changed), (_ADD_RECORD, moved)]
        return statements, refused

    # -- handing over, closing -------------------------------------------------------

    def renewed(self, source: MemoryStore) -> SqliteStore:
        """A store over this file holding exactly what ``source`` holds (written over the
        file's content at its first flush); this store writes nothing more, so work still
        under way in the scheme it served cannot reach the file (``PUT /admin/fixtures``)."""
        store = SqliteStore._over(self._require())
        self._file = None
        store.adopt(source)
        return store

    def close(self) -> None:
        """Flush, then let the file go (this store keeps its records, writes no more)."""
        if self._file is None:
            return
        try:
            self.flush()
        finally:
            self._file.close()
            self._file = None

    def _require(self) -> _StateFile:
        if self._file is None:
            raise StateFileError(f"{self.path}: this store no longer writes to its file")
        return self._file


def _row(posting: Posting) -> tuple[Any, ...]:
    at = posting.at.isoformat() if posting.at is not None else None
    return (
        posting.seq,
        posting.account,
        str(posting.amount),
        posting.kind.value,
        posting.ref,
        at,
        posting.reservation,
    )


def _binary(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """``row`` with each text that is no UTF-8 (lone surrogates) as its bytes, surrogates
    kept (``surrogatepass``): a BLOB in a TEXT column, which no valid text equals, so
    keys stay distinct and a later change or drop of the same key finds its row."""
    return tuple(_bytes_if_no_utf8(value) if isinstance(value, str) else value for value in row)


def _bytes_if_no_utf8(text: str) -> str | bytes:
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")
    return text


def _text(value: str | bytes) -> str:
    """A text column's value as written: a BLOB is a text ``_binary`` kept as bytes."""
    return value.decode("utf-8", "surrogatepass") if isinstance(value, bytes) else value


def _immutable(record: object) -> bool:
    if isinstance(record, _IMMUTABLE):
        return True
    params = getattr(type(record), "__dataclass_params__", None)
    return params is not None and bool(params.frozen)


class _StateFile:
    """The SQLite connection, the lock that keeps it one process's, and the pickling."""

    def __init__(
        self, path: Path, db: sqlite3.Connection, lock: IO[bytes], reducers: Reducers
    ) -> None:
        self.path, self._db, self._lock = path, db, lock
        self._buffer = io.BytesIO()
        self._pickler = pickle.Pickler(self._buffer, pickle.HIGHEST_PROTOCOL)
        self._pickler.dispatch_table = {**copyreg.dispatch_table, **reducers}

    @classmethod
    def open(cls, path: Path, reducers: Reducers) -> _StateFile:
        """Open (or create) ``path`` for this process alone, checking it is tpsim's."""
        try:
            db = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StateFileError(f"{path}: cannot open the state file: {exc}") from None
        lock = _lock(path, db)
        try:
            _prepare(path, db)
        except BaseException:
            db.close()
            lock.close()
            raise
        return cls(path, db, lock, reducers)

    def dumps(self, value: object) -> bytes:
        buffer = self._buffer
        buffer.seek(0)
        buffer.truncate()
        self._pickler.clear_memo()
        self._pickler.dump(value)
        return buffer.getvalue()

    def loads(self, blob: bytes, what: str) -> Any:
        try:
            return pickle.loads(blob)  # noqa: S301 - the user's own state file (module docstring)
        except Exception as exc:  # any error a changed class layout raises while unpickling
            raise StateFileError(
                f"{self.path}: {what} was written by another version of tpsim ({exc});"
                " start with a new --state file"
            ) from None

    def blobs(self, query: str) -> Iterator[Any]:
        for (blob,) in self._db.execute(query):
            yield self.loads(blob, "a record")

    def postings(self) -> Iterator[Posting]:
        query = "SELECT seq, account, amount, kind, ref, at, reservation FROM postings ORDER BY seq"
        for seq, account, amount, kind, ref, at, reservation in self._db.execute(query):
            try:
                when = datetime.fromisoformat(at) if at is not None else None
                money, sort = Decimal(amount), PostingKind(kind)
            except (ValueError, TypeError, ArithmeticError):
                raise ValueError(
                    f"posting {seq} does not read back (amount {amount!r}, kind {kind!r},"
                    f" at {at!r})"
                ) from None
            yield Posting(seq, _text(account), money, sort, _text(ref), when, reservation)

    def records(self) -> Iterator[tuple[str, str, Any]]:
        for kind, key, blob in self._db.execute(
            "SELECT kind, key, blob FROM records ORDER BY rowid"
        ):
            kind, key = _text(kind), _text(key)
            yield kind, key, self.loads(blob, f"record {kind} {key}")

    def write(self, writes: list[tuple[str, list[tuple[Any, ...]]]], *, wipe: bool) -> None:
        """Run ``writes`` (statement, rows) in one transaction, after emptying every table
        when ``wipe``; all or nothing."""
        with self.transaction() as db:
            if wipe:
                for table in _TABLES:
                    db.execute(f"DELETE FROM {table}")  # noqa: S608 - our own table names
            for statement, values in writes:
                if values:
                    db.executemany(statement, values)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()
        self._lock.close()  # releases the flock


def _lock(path: Path, db: sqlite3.Connection) -> IO[bytes]:
    """An exclusive ``flock`` on the file (released when the process ends, even by kill -9):
    two processes writing one state file would each overwrite the other's records."""
    lock = open(path, "ab")  # held open as long as the store; "a" never truncates
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        db.close()
        raise StateFileError(
            f"{path}: another tpsim process is using this state file;"
            " stop it or give this one another --state file"
        ) from None
    return lock


def _prepare(path: Path, db: sqlite3.Connection) -> None:
    """WAL mode and the tables; a file that is not tpsim's state (or of another layout) is
    refused rather than changed."""
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if tables == 0:
            db.executescript(
                f"BEGIN; {_SCHEMA} PRAGMA application_id = {APPLICATION_ID};"
                f" PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            )
            return
        application = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise StateFileError(f"{path}: not a tpsim state file ({exc})") from None
    if application != APPLICATION_ID:
        raise StateFileError(
            f"{path}: an SQLite database that is not a tpsim state file; give --state a new"
            " file name (tpsim creates it)"
        )
    if version != SCHEMA_VERSION:
        raise StateFileError(
            f"{path}: a state file of layout {version}, this tpsim reads layout"
            f" {SCHEMA_VERSION}; start with a new --state file"
        )
    _check_intact(path, db)


def _check_intact(path: Path, db: sqlite3.Connection) -> None:
    """Refuse a state file whose pages are damaged (a disk error, a copy cut short): read
    whole at start-up it may load, then fail every later write, so that tpsim would run
    on in memory with nothing written."""
    try:
        problems = [row[0] for row in db.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:
        problems = [str(exc)]
    if problems != ["ok"]:
        lines = (line for problem in problems for line in problem.splitlines())
        found = "; ".join(line for line in lines if not line.startswith("***"))
        raise _damaged(path, found[:300])


def _damaged(path: Path, why: object) -> StateFileError:
    return StateFileError(
        f"{path}: the state file is damaged ({why}); restore a copy of it, or give --state"
        " a new file to start afresh from the config"
    )
