"""The ``Currency`` enumeration of the Third Party v1.0 and FSPIOP v1.1 OpenAPI bundles.

All four bundles carry the same 164 codes (ISO 4217 plus a few the spec kept, e.g. ``SPL``,
``TVD``, ``XTS``). ``Currency`` values are checked against this set rather than a
``^[A-Z]{3}$`` pattern so that what tpsim accepts is exactly what the OpenAPI accepts.
"""

from __future__ import annotations

ISO_4217_CODES: frozenset[str] = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR
    FJD FKP GBP GEL GGP GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS IMP INR IQD IRR
    ISK JEP JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL
    MGA MKD MMK MNT MOP MRO MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK
    PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLL SOS SPL SRD STD SVC
    SYP SZL THB TJS TMT TND TOP TRY TTD TVD TWD TZS UAH UGX USD UYU UZS VEF VND VUV WST XAF
    XCD XDR XOF XPF XTS XXX YER ZAR ZMW ZWD
    """.split()
)
