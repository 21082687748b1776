from brands.exceptions import DomainError


class InvalidTransition(DomainError):
    code = "invalid_state"
    status = 409


class ItemsStillPending(Exception):
    """commit_run came before every item finished; the task retries until the deadline."""
