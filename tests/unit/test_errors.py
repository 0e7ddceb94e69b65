from datetime import UTC, datetime

import pytest

from custos.domain.errors import (
    AuthenticationFailed,
    CalendarNotCovered,
    Conflict,
    CustosError,
    FieldError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    RuleRefusal,
    SignInThrottled,
    ValidationFailed,
)


def test_every_error_is_a_custos_error() -> None:
    errors: list[CustosError] = [
        ValidationFailed(FieldError("name", "required")),
        RuleRefusal(FieldError("location", "banned", rule_id="shaanxi-2019:art8")),
        InvalidTransition("planned", "in_service"),
        NotFound("camera", 42),
        Conflict("address_code", "already registered"),
        PermissionDenied(),
        AuthenticationFailed(),
        SignInThrottled(datetime(2026, 1, 1, tzinfo=UTC), 30),
        CalendarNotCovered(2027),
    ]
    assert all(isinstance(error, CustosError) for error in errors)


def test_rule_refusal_and_invalid_transition_are_validation_failures() -> None:
    assert issubclass(RuleRefusal, ValidationFailed)
    assert issubclass(InvalidTransition, ValidationFailed)
    assert issubclass(SignInThrottled, AuthenticationFailed)


def test_validation_failed_lists_every_field_error_in_its_message() -> None:
    failure = ValidationFailed(
        [
            FieldError("address_code", "must be 20 digits, got 19 characters"),
            FieldError(
                "location",
                "dormitories are prohibited",
                rule_id="chongqing-2016:art10.i1",
                article="Chongqing art. 10(1)",
            ),
        ]
    )
    assert [e.field for e in failure.errors] == ["address_code", "location"]
    assert str(failure) == (
        "address_code: must be 20 digits, got 19 characters; "
        "location: dormitories are prohibited [chongqing-2016:art10.i1, Chongqing art. 10(1)]"
    )


def test_validation_failed_errors_cannot_be_changed_through_the_property() -> None:
    failure = ValidationFailed(FieldError("name", "required"))
    failure.errors.clear()
    assert len(failure.errors) == 1


def test_validation_failed_needs_at_least_one_field_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ValidationFailed([])


def test_rule_refusal_exposes_rule_ids_without_repeats() -> None:
    refusal = RuleRefusal(
        [
            FieldError("location", "dormitory", rule_id="xian-2023:art9"),
            FieldError("fov", "covers a dormitory", rule_id="xian-2023:art9"),
            FieldError("retention_days", "below 30", rule_id="xian-2023:art21"),
        ]
    )
    assert refusal.rule_ids == ["xian-2023:art9", "xian-2023:art21"]


def test_rule_refusal_without_a_rule_id_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="without a rule_id"):
        RuleRefusal(FieldError("location", "banned"))


def test_invalid_transition_names_both_states() -> None:
    error = InvalidTransition("planned", "in_service")
    assert (error.current, error.requested) == ("planned", "in_service")
    assert error.errors == [FieldError("state", "cannot go from 'planned' to 'in_service'")]


def test_not_found_and_conflict_read_well() -> None:
    assert str(NotFound("camera", 42)) == "camera 42 not found"
    assert str(Conflict("address_code", "61010000001320000001 is taken")) == (
        "conflict on address_code: 61010000001320000001 is taken"
    )


def test_sign_in_throttled_carries_an_aware_until_and_a_wait_of_at_least_a_second() -> None:
    until = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    error = SignInThrottled(until, 0)
    assert error.until == until
    assert error.retry_after_s == 1
    assert "2026-03-01T08:30:00+00:00" in str(error)


def test_sign_in_throttled_refuses_a_naive_until() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SignInThrottled(datetime(2026, 3, 1, 8, 30), 30)


def test_calendar_not_covered_names_the_year() -> None:
    error = CalendarNotCovered(2027)
    assert error.year == 2027
    assert "2027" in str(error)
