"""Use cases shared by every entry point (chat, JSON API, console, CLI, clock jobs).

Each takes the caller's ``AsyncSession``, the acting person and plain arguments; checks role and
region scope itself; writes rows, audit entries and outbox pushes; never commits; and returns
DTOs or raises a ``core.errors.DomainError`` whose message the entry point shows as it is.
"""
