"""UK Open Banking payment initiation (v3.1 and v4.0), sans-IO: ``api.ObieApi`` over
``bank.ObieBank``, with the consent page's ``approval.ObieApproval``."""
