"""The vehicle category's plug-in to the exchange (Art 12; VRD-1, VRD-2), without gRPC.

The requesting state sends only a complete key (VRD-1): a VIN is checked here, since its form is the
same everywhere; a registration number goes out as typed, and each requested state checks it against
the plate formats it knows. The requested state supplies the vehicle and holder data of the records
found (VRD-2); a record's reference is its VIN. The reply carries the holder, so no follow-up.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from prum.services.common.category import Category
from prum.services.common.errors import InvalidInput
from prum.services.exchange.context import QueryContext
from prum.services.exchange.plugin import FollowUp, Supply
from prum.services.vehicle.exchange import VehicleQuery, lookup, query_record, record_data
from prum.services.vehicle.identifiers import holder_key, normalize_vin
from prum.services.vehicle.model import VehicleRecord
from prum.services.vehicle.register import VehicleRegister
from prum.vehicle.v1 import vehicle_pb2


class VehiclePlugin:
    """`CategoryPlugin[VehicleQuery, VehicleRegister, list[VehicleRecord], vehicle_pb2.VehicleRecord]`."""

    category = Category.VEHICLE
    follow_up = FollowUp.NONE
    verifies = False

    def validate(self, query: VehicleQuery) -> VehicleQuery:
        if query.keys_given != 1:
            raise InvalidInput("give exactly one key: a complete VIN or a complete registration number (VRD-1), or "
                               "under Prüm II an owner's or holder's complete identity (P2-VRD-1)",
                               field="vehicle.key")
        if query.vin is not None:
            return replace(query, vin=normalize_vin(query.vin))
        if query.holder is not None:
            holder_key(query.holder.surname, query.holder.first_names, query.holder.date_of_birth)  # complete
        return query

    def query_record(self, query: VehicleQuery) -> dict[str, Any]:
        return query_record(query.vin, query.registration_number, query.at, query.holder)

    def search(self, file: VehicleRegister, context: QueryContext,
               query: VehicleQuery) -> Supply[list[VehicleRecord]]:
        records = lookup(file, query.vin, query.registration_number, query.at, query.holder)
        return Supply(result=records, hit_count=len(records), data={"records": [record_data(r) for r in records]})

    def reference(self, item: vehicle_pb2.VehicleRecord) -> str:
        return item.vehicle.vin

    def verify(self, query: VehicleQuery, items: tuple[vehicle_pb2.VehicleRecord, ...]
               ) -> tuple[tuple[vehicle_pb2.VehicleRecord, ...], str]:
        return items, ""  # not called: the register's record is the answer


PLUGIN = VehiclePlugin()
