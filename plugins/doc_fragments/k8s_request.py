# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops engineers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options of every module that talks to the cluster through module_utils/_k8s_glue.py.
    DOCUMENTATION = r"""
options:
  request_timeout:
    description:
    - Seconds to wait for the answer to one API request before giving up on that attempt, so a stalled API server
      cannot hang a job.
    - A failed read, update or delete (5xx, 429, no answer, timeout) is sent again up to 3 times with a short backoff,
      honouring the server's C(Retry-After) (at most 10 seconds); a create too, and when its repeat finds the name
      taken, the object is read back and compared. A conflict (409) re-reads the object and re-plans the change.
    - The error names the request, the object (kind, namespace, name) and the HTTP status.
    - Falls back to the E(MESHOPS_K8S_REQUEST_TIMEOUT) environment variable.
    type: float
    default: 30
"""
