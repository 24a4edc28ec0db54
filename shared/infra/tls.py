"""The local CA and secrets, for the infrastructure's modules: they live in `shared.local_ca`, outside
this package, so that every gRPC server and client (shared.grpc_tls) can use them without importing
the infrastructure."""

from shared.local_ca import ensure_ca, ensure_certificate, ensure_password, ensure_server_keystore, write_private

__all__ = ["ensure_ca", "ensure_certificate", "ensure_password", "ensure_server_keystore", "write_private"]
