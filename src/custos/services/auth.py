"""Sign-in, bearer tokens, expiry, revocation, and throttling of repeated failures."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from custos.domain.access import UNIT_SCOPED_ROLES, Permission, Role
from custos.domain.audit import AuditEvent, Outcome
from custos.domain.clock import Clock
from custos.domain.codes import DivisionCode
from custos.domain.errors import (
    AuthenticationFailed,
    Conflict,
    FieldError,
    NotFound,
    SignInThrottled,
    ValidationFailed,
)
from custos.domain.sign_in import BackOff, SignInAttempts
from custos.domain.users import AuthSession, Principal, User, UserProfile, parse_scope
from custos.services.ports import PasswordHasher, UnitOfWork, UnitOfWorkFactory
from custos.services.snapshots import snapshot

MIN_PASSWORD_LENGTH = 12
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


@dataclass(frozen=True)
class AuthPolicy:
    """Token lifetime and sign-in throttling (the ``lockout_*`` names are the settings')."""

    token_ttl: timedelta
    lockout_threshold: int  # failures per (address, name) before the first pause
    lockout_window: timedelta  # quiet time that clears the count
    lockout_duration: timedelta  # the longest pause

    def back_off(self) -> BackOff:
        return BackOff(self.lockout_threshold, self.lockout_window, self.lockout_duration)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    user: User


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AuthService:
    def __init__(
        self, uow: UnitOfWorkFactory, hasher: PasswordHasher, clock: Clock, policy: AuthPolicy
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock
        self._policy = policy
        self._back_off = policy.back_off()
        self._dummy_hash = hasher.dummy_hash()

    def create_user(
        self,
        actor: Principal,
        username: str,
        role: Role,
        password: str,
        unit_id: int | None,
        profile: UserProfile | None = None,
    ) -> User:
        profile = profile or UserProfile()
        errors = new_user_errors(username, role, password, unit_id)
        errors += _check_profile_shape(profile)
        if errors:
            raise ValidationFailed(errors)
        with self._uow() as uow:
            if uow.users.by_username(username) is not None:
                raise Conflict("username", f"a user named {username!r} already exists")
            if unit_id is not None and uow.units.get(unit_id) is None:
                raise ValidationFailed([FieldError("unit_id", f"no unit with id {unit_id}")])
            _check_scope_targets(uow, profile)
            user = User(None, username, role, unit_id, self._hasher.hash(password))
            _apply(user, profile)
            user = uow.users.add(user)
            uow.audit.append(self._event(actor, "user.create", user, after=snapshot(user)))
            uow.commit()
            return user

    def set_password(self, actor: Principal, user_id: int, password: str) -> User:
        """Give a user a new password (and lift any sign-in pause); the user's sessions end with it."""
        actor.require(Permission.USERS_MANAGE)
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValidationFailed(
                [FieldError("password", f"at least {MIN_PASSWORD_LENGTH} characters")]
            )
        with self._uow() as uow:
            user = uow.users.get(user_id)
            if user is None:
                raise NotFound("user", user_id)
            user.password_hash = self._hasher.hash(password)
            uow.users.update(user)
            uow.sign_in.clear(user.username)
            uow.sessions.revoke_all_for(user_id, self._clock.now())
            uow.audit.append(self._event(actor, "user.password_set", user))
            uow.commit()
            return user

    def set_profile(self, actor: Principal, user_id: int, profile: UserProfile) -> User:
        """Full name, jurisdiction, approver title and narrower scopes of one user."""
        actor.require(Permission.USERS_MANAGE)
        errors = _check_profile_shape(profile)
        if errors:
            raise ValidationFailed(errors)
        with self._uow() as uow:
            user = uow.users.get(user_id)
            if user is None:
                raise NotFound("user", user_id)
            _check_scope_targets(uow, profile)
            before = snapshot(user)
            _apply(user, profile)
            uow.users.update(user)
            uow.audit.append(
                self._event(actor, "user.profile", user, before=before, after=snapshot(user))
            )
            uow.commit()
            return user

    def note_denied(self, actor: Principal, permission: Permission, target: str) -> None:
        """A signed-in user tried what their role does not allow: a refused attempt, logged."""
        with self._uow() as uow:
            uow.audit.append(
                AuditEvent(
                    self._clock.now(),
                    actor.username,
                    "access.denied",
                    "route",
                    target[:200],
                    Outcome.REFUSED,
                    detail={"permission": permission.value, "role": str(actor.role)},
                )
            )
            uow.commit()

    def get_user(self, user_id: int) -> User | None:
        with self._uow() as uow:
            return uow.users.get(user_id)

    def login(self, username: str, password: str, *, source: str) -> IssuedToken:
        """Exchange a name and password for a token; ``source`` is the client's address.

        Every refusal costs one Argon2 verification and answers alike for known and unknown
        names (docs/design/auth.md, "Sign-in throttling").
        """
        now = self._clock.now()
        source = source[:64]
        with self._uow() as uow:
            user = uow.users.by_username(username)
            known = user is not None and user.active
            password_hash = user.password_hash if user is not None and known else self._dummy_hash
            correct = self._hasher.verify(password_hash, password)
            attempts = uow.sign_in.get(source, username) or SignInAttempts(source, username)
            paused = self._back_off.paused(attempts, now)
            if paused is not None:
                self._refuse(uow, username, source, "paused after repeated failures")
                raise _throttled(paused, now)
            if user is None or not known or not correct:
                self._back_off.fail(attempts, now)
                uow.sign_in.put(attempts)
                uow.sign_in.forget_before(self._back_off.stale_before(now))
                self._refuse(uow, username, source, "wrong password" if known else "unknown user")
                paused = self._back_off.paused(attempts, now)
                if paused is not None:
                    raise _throttled(paused, now)
                raise AuthenticationFailed("wrong username or password")
            uow.sign_in.clear(username, source)
            if self._hasher.needs_rehash(user.password_hash):
                user.password_hash = self._hasher.hash(password)
            uow.users.update(user)
            token = secrets.token_urlsafe(32)
            expires = now + self._policy.token_ttl
            uow.sessions.add(AuthSession(None, user.id or 0, token_digest(token), now, expires))
            uow.audit.append(self._event(_principal(user), "auth.login", user))
            uow.commit()
            return IssuedToken(token, expires, user)

    def authenticate(self, token: str) -> tuple[Principal, AuthSession]:
        now = self._clock.now()
        with self._uow() as uow:
            session = uow.sessions.by_token_hash(token_digest(token))
            if session is None or not session.is_live(now):
                raise AuthenticationFailed("token unknown, expired or revoked")
            user = uow.users.get(session.user_id)
            if user is None or not user.active:
                raise AuthenticationFailed("token unknown, expired or revoked")
            return _principal(user), session

    def logout(self, actor: Principal, session: AuthSession) -> None:
        with self._uow() as uow:
            uow.sessions.revoke(session.id or 0, self._clock.now())
            uow.audit.append(
                AuditEvent(
                    self._clock.now(), actor.username, "auth.logout", "user", str(actor.user_id)
                )
            )
            uow.commit()

    def revoke_all(self, actor: Principal, user_id: int) -> int:
        with self._uow() as uow:
            user = uow.users.get(user_id)
            if user is None:
                raise NotFound("user", user_id)
            count = uow.sessions.revoke_all_for(user_id, self._clock.now())
            event = self._event(actor, "auth.revoke_all", user)
            uow.audit.append(
                AuditEvent(
                    event.at,
                    event.actor,
                    event.action,
                    "user",
                    str(user_id),
                    detail={"sessions": count},
                )
            )
            uow.commit()
            return count

    def list_users(self) -> list[User]:
        with self._uow() as uow:
            return uow.users.find()

    def _refuse(self, uow: UnitOfWork, username: str, source: str, reason: str) -> None:
        event = AuditEvent(
            self._clock.now(),
            username[:64],
            "auth.login",
            "user",
            None,
            Outcome.REFUSED,
            detail={"reason": reason, "source": source},
        )
        uow.audit.append(event)
        uow.commit()

    def _event(
        self,
        actor: Principal,
        action: str,
        user: User,
        after: dict[str, object] | None = None,
        before: dict[str, object] | None = None,
    ) -> AuditEvent:
        return AuditEvent(
            self._clock.now(),
            actor.username,
            action,
            "user",
            str(user.id),
            before=before,
            after=after,
        )


def _throttled(until: datetime, now: datetime) -> SignInThrottled:
    return SignInThrottled(until, math.ceil((until - now).total_seconds()))


def _principal(user: User) -> Principal:
    return Principal(
        user.id,
        user.username,
        user.role,
        user.unit_id,
        full_name=user.full_name,
        jurisdiction=user.jurisdiction,
        approver_title=user.approver_title,
        scopes=user.scopes,
    )


def _apply(user: User, profile: UserProfile) -> None:
    user.full_name = profile.full_name.strip()
    user.jurisdiction = profile.jurisdiction
    user.approver_title = profile.approver_title
    user.scopes = tuple(dict.fromkeys(profile.scopes))


def _check_profile_shape(profile: UserProfile) -> list[FieldError]:
    errors: list[FieldError] = []
    if len(profile.full_name) > 100:
        errors.append(FieldError("full_name", "at most 100 characters"))
    if profile.jurisdiction is not None:
        try:
            DivisionCode.parse(profile.jurisdiction, field="jurisdiction")
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    for i, entry in enumerate(profile.scopes):
        if parse_scope(entry) is None:
            errors.append(
                FieldError(
                    f"scopes[{i}]", "write 'unit:ID', 'site:ID' or 'camera:ID', ID 1 to 2147483647"
                )
            )
    return errors


def _check_scope_targets(uow: UnitOfWork, profile: UserProfile) -> None:
    errors: list[FieldError] = []
    for i, entry in enumerate(profile.scopes):
        parsed = parse_scope(entry)
        if parsed is None:
            continue
        kind, target = parsed
        found = (
            uow.units.get(target)
            if kind == "unit"
            else uow.sites.get(target)
            if kind == "site"
            else uow.cameras.get(target)
        )
        if found is None:
            errors.append(FieldError(f"scopes[{i}]", f"no {kind} with id {target}"))
    if errors:
        raise ValidationFailed(errors)


def new_user_errors(
    username: str, role: Role, password: str, unit_id: int | None
) -> list[FieldError]:
    """What is wrong with a new user's name, password and unit, before anything is stored (the
    CLI asks this before it opens the database)."""
    errors = []
    if not (3 <= len(username) <= 64) or not set(username) <= USERNAME_CHARS:
        errors.append(
            FieldError("username", "3–64 characters of lowercase letters, digits, '.', '_' or '-'")
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        errors.append(FieldError("password", f"at least {MIN_PASSWORD_LENGTH} characters"))
    if role in UNIT_SCOPED_ROLES and unit_id is None:
        errors.append(FieldError("unit_id", f"role {role} works for one unit: give its unit id"))
    return errors
