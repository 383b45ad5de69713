"""Wire formats of remittance: the X12 835 and its JSON view (codecs only; what money means is ``domain/``).

* ``era_reader``: ``iter_remittance(source, strict=False)`` streams an 835 as header / claim payments / summary
  per ST, with line, claim and transaction balancing; ``read_remittances(source)`` gathers it.
* ``era_writer``: ``write_835(...)``, the platform's one 835 writer (fixtures, the sandbox and demo payer).
* ``era_json``: ``to_json_dict(remittances)`` for ``rcm x12 read FILE``.
"""
