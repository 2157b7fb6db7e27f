"""Europol as a participant of the Prüm II federation (Regulation (EU) 2024/982 Art 48-49), without gRPC.

Europol (`prum.services.common.identity.EUROPOL`) holds biometric data third countries gave it, in analysis work
files (AWF). States search them through the router (P2-EUROPOL-2); Europol searches the states' data through the
router too, only for its tasks under Art 18(2)(a) and (c) of Regulation 2016/794 (P2-EUROPOL-1,
`prum.services.common.purpose`). Its processing follows the AWF rules of seed 003 (P2-EUROPOL-3):

- `analysis_files.AnalysisFiles`: the items of each file with their evaluation codes (EUR-1), the file's closing,
  the yearly review of the need to keep each item and the deletion 3 years after the file closed (EUR-3), every
  review kept for the EDPS;
- `plugin.EuropolData`: a category's plug-in wrapped so that every retrieval of Europol's data is logged with
  the user reference, the date and time, the data subject and the file (EUR-2), and each supplied item carries its
  evaluation codes (EUR-1);
- `audit`: what the EDPS (Europol's supervisor) checks in Europol's log and files.
"""
