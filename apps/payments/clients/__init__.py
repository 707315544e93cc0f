"""The only modules that import an external SDK (STYLE.md): ``stripe_api`` for Stripe's API
and webhook signatures, ``recorded`` for the recorded-answer HTTP client tests give Stripe."""
