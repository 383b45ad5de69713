"""Wire formats of claims: the 837P writer (``x12_837``) and reader (``x12_837_reader``, also the demo payer's),
the acknowledgments claims reads (``acknowledgments``: 999, TA1, 277CA) and the claim status exchange
(``claim_status``: 276 written, 277 read), and the files a clearinghouse mailbox holds (``files``). What the
answers mean for a claim is the domain's and the use cases'."""
