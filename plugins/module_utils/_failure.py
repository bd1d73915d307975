# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this file is internal to meshops.istio_egress; its functions may change without notice.
"""The failure a module reports with fields beside its message (no imports, so pure code can raise it)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleFailure(Exception):
    """A failure whose module result carries ``fields`` beside ``msg``."""

    def __init__(self, msg, **fields):
        super(ModuleFailure, self).__init__(msg)
        self.fields = fields
