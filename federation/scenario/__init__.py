"""Scenario files (`prum scenario run FILE`): a federation, its data, ordered steps with faults and expectations."""
