"""Errors raised by the skills registry; each says what is wrong and what to do about it."""

from __future__ import annotations


class SkillError(Exception):
    """Base class: anything the registry refuses. The message is shown to users and models as it is."""


class InvalidSkill(SkillError, ValueError):
    """Raised by skillmd and the registry when a SKILL.md or a skill folder breaks the Agent Skills format."""


class BundleError(InvalidSkill):
    """Raised by skills.bundle for a bundle that is malformed, tampered with, unsafe or too large."""


class VersionConflict(SkillError):
    """Raised by the registry when name@version is already installed with different content."""


class SkillNotFound(SkillError, LookupError):
    """Raised by the registry for an unknown skill, version or file."""
