"""`prum pki issue XX --out DIR`: a certificate from the federation CA for a state prum does not start (an external
state of the federation file, `external = true`), so its team's own node can join the federation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from prum.federation.cli.common import WorkDir, print_table

pki_app = typer.Typer(no_args_is_help=True, rich_markup_mode="rich")


@pki_app.command("issue")
def issue(
    state: Annotated[str, typer.Argument(help="The state's ISO 3166 alpha-2 code, e.g. LU.")],
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False, help="Where to write ca.pem, XX.pem and XX.key "
                                      "(mode 0600) for the state's team.")],
    workdir: WorkDir = Path("prum-run"),
    csr: Annotated[Path | None, typer.Option("--csr", exists=True, dir_okay=False, help="The team's certificate "
                                             "signing request (PEM): their key stays with them; prum writes ca.pem "
                                             "and XX.pem only.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was written as JSON.")] = False,
) -> None:
    """Issue a state's certificate from the federation CA in WORKDIR/pki (made there, with its key, when it holds
    none; [bold]prum up[/bold] in the same WORKDIR then issues every other state's certificate from the same CA).
    The certificate names the state in its subject (C and CN), as every peer checks (SEC-1), and is valid for
    loopback and the state's Service names.

    Example: [bold]prum pki issue LU --workdir ./run1 --out ./lu-certs[/bold] (then declare LU with
    [bold]external = true[/bold] and its [bold]address[/bold] in the federation file, and [bold]prum up --workdir
    ./run1[/bold]); with the team's own key: [bold]openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256
    -nodes -keyout lu.key -subj /C=LU/CN=LU -out lu.csr[/bold], then [bold]prum pki issue LU --csr lu.csr --out
    ./lu-certs[/bold]
    """
    from prum.federation.runtime.pki import FederationPki

    code = state.upper()
    pki = FederationPki.load_authority(workdir / "pki")
    made = pki is None
    if pki is None:
        pki = FederationPki.create()
        pki.write_authority(workdir / "pki")
    if csr is not None:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        try:
            request = x509.load_pem_x509_csr(csr.read_bytes())
            certificate = pki.sign_request(code, request)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--csr") from error
        out.mkdir(parents=True, exist_ok=True)
        (out / "ca.pem").write_bytes(pki.ca_pem)
        (out / f"{code}.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_path = "kept by the team (from its CSR)"
    else:
        try:
            pki.issue(code)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="STATE") from error
        pki.write(out)
        key_path = str(out / f"{code}.key")
    print_table(f"Certificate of {code}", [
        {"state": code, "certificate": str(out / f"{code}.pem"), "key": key_path,
         "ca": str(out / "ca.pem"), "authority": f"{workdir / 'pki'} ({'made now' if made else 'existing'})"}],
        as_json)
