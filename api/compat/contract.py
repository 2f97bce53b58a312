"""What the compatible endpoints share: each speaks another service's
contract, so a view is CSRF-free (API clients have no cookie), skips the
login redirect, and answers every error in that contract's envelope."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from api.problems import ApiProblem


class ContractError(Exception):
    """An error to answer in the contract's envelope: status, code, the
    parameter at fault, extra headers; str(self) is the message."""

    def __init__(self, status: int, code: str | None, message: str, *, param: str | None = None, headers=None):
        super().__init__(message)
        self.status, self.code, self.param, self.headers = status, code, param, headers or {}

    @classmethod
    def from_problem(cls, problem: ApiProblem) -> ContractError:
        """The shared upload code's errors (the upload form's messages)."""
        param = next(iter(problem.extra.get("errors", {})), None)
        return cls(problem.status_code, problem.problem_code, str(problem.detail), param=param)


def contract_view(answer: Callable[[ContractError], HttpResponse]):
    def decorate(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            try:
                return view(request, *args, **kwargs)
            except ContractError as error:
                return answer(error)
            except ApiProblem as problem:
                return answer(ContractError.from_problem(problem))

        return csrf_exempt(login_not_required(wrapped))

    return decorate
