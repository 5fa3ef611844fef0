"""An AE whose requested associations run the waking loops of :mod:`node.dicom.reactors`.

pynetdicom builds a requestor association inside ``AE.associate`` and starts it before returning, so
the acceptor's hook (convert before start) cannot reach it from outside. :class:`WakingAE` converts it
where pynetdicom gives it a socket, just before it starts. Its sender then gets the same two things as the
SCP: no 1 ms polling sleeps per message, and a reactor that cannot take a C-STORE response meant for
``send_c_store`` (see ``WakingAssociation._pause_while_checkpoint_cleared``), which with the stock loop
cost a DIMSE timeout and an aborted association now and then, more often on a loaded machine.

With a pynetdicom whose loops differ from the copies, the association keeps the stock loops.
"""

from __future__ import annotations

from ssl import SSLContext

from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.transport import AddressInformation, AssociationSocket

from node.dicom.reactors import WholeReadSocket, wake_on_data


class WakingAE(AE):
    """``pynetdicom.AE`` for associations this node requests (C-STORE and C-ECHO senders)."""

    def _create_socket(
        self,
        assoc: Association,
        address: AddressInformation,
        tls_args: tuple[SSLContext, str] | None,
    ) -> AssociationSocket:
        sock = super()._create_socket(assoc, address, tls_args)
        if wake_on_data(assoc) and type(sock) is AssociationSocket:
            sock.__class__ = WholeReadSocket
        return sock
