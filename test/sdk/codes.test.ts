import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import {
  ALL_ACTIONS,
  ALL_PURPOSES,
  ANY_CATEGORY,
  Action,
  CATEGORY_CODES,
  Purpose,
  actionMask,
  actionsOf,
  categoryCode,
  categoryId,
  parseAction,
  parsePurpose,
  purposeMask,
  purposesOf,
} from "../../src/codes";
import { DOMAIN_NAME, DOMAIN_VERSION, GRANT_TYPES, REVOKE_TYPES } from "../../src/eip712";
import { DAY } from "../helpers/fixtures";
import { deploySdk } from "./fixture";

describe("codes", function () {
  describe("categories", function () {
    it("should hash lower-case codes and map * to ANY_CATEGORY", function () {
      expect(categoryId("laboratory")).to.equal(ethers.keccak256(ethers.toUtf8Bytes("laboratory")));
      expect(categoryId("*")).to.equal(ANY_CATEGORY);
      expect(ANY_CATEGORY).to.equal(ethers.id("*"));
    });

    it("should refuse codes that are not lower-case tokens", function () {
      for (const code of ["", "Laboratory", "lab results", "-lab", "lab-", "läb"]) {
        expect(() => categoryId(code), code).to.throw(/Invalid category code/);
      }
    });

    it("should find the code of every well-known category id, and none for others", function () {
      for (const code of CATEGORY_CODES) expect(categoryCode(categoryId(code))).to.equal(code);
      expect(categoryCode(ANY_CATEGORY)).to.equal("*");
      expect(categoryCode(categoryId("laboratory").toUpperCase().replace("0X", "0x"))).to.equal("laboratory");
      expect(categoryCode(ethers.id("dental"))).to.be.undefined;
    });
  });

  describe("purposes and actions", function () {
    it("should round-trip masks", function () {
      const purposes = [Purpose.TREAT, Purpose.HRESCH, Purpose.COVERAGE];
      expect(purposesOf(purposeMask(...purposes))).to.deep.equal(purposes);
      expect(purposesOf(ALL_PURPOSES)).to.have.length(10);
      const actions = [Action.COLLECT, Action.CORRECT];
      expect(actionsOf(actionMask(...actions))).to.deep.equal(actions);
      expect(actionsOf(ALL_ACTIONS)).to.have.length(5);
    });

    it("should parse codes case-insensitively and refuse unknown ones", function () {
      expect(parsePurpose("etreat")).to.equal(Purpose.ETREAT);
      expect(parsePurpose(" HRESCH ")).to.equal(Purpose.HRESCH);
      expect(parseAction("Disclose")).to.equal(Action.DISCLOSE);
      expect(() => parsePurpose("SURVEIL")).to.throw(/Unknown purpose "SURVEIL": use one of TREAT, ETREAT/);
      expect(() => parseAction("read")).to.throw(/Unknown action "read": use one of collect, access/);
    });
  });

  describe("against the contracts", function () {
    it("should mark every purpose and action bit the registry accepts, and no other", async function () {
      const { consents, patient, clinic } = await loadFixture(deploySdk);
      const registry = consents.connect(patient);
      const expiry = (await time.latest()) + DAY;
      const lab = categoryId("laboratory");
      await expect(registry.grant(clinic.address, lab, ALL_PURPOSES, ALL_ACTIONS, 0, expiry)).to.emit(
        consents,
        "ConsentGranted",
      );
      await expect(registry.grant(clinic.address, lab, ALL_PURPOSES + 1, ALL_ACTIONS, 0, expiry))
        .to.be.revertedWithCustomError(consents, "InvalidPurposes")
        .withArgs(ALL_PURPOSES + 1);
      await expect(registry.grant(clinic.address, lab, ALL_PURPOSES, ALL_ACTIONS + 1, 0, expiry))
        .to.be.revertedWithCustomError(consents, "InvalidActions")
        .withArgs(ALL_ACTIONS + 1);
    });

    it("should sign the typed data the registry checks", async function () {
      const { consents } = await loadFixture(deploySdk);
      expect(await consents.GRANT_TYPEHASH()).to.equal(
        ethers.id(ethers.TypedDataEncoder.from(GRANT_TYPES).encodeType("Grant")),
      );
      expect(await consents.REVOKE_TYPEHASH()).to.equal(
        ethers.id(ethers.TypedDataEncoder.from(REVOKE_TYPES).encodeType("Revoke")),
      );
      const domain = await consents.eip712Domain();
      expect(domain.name).to.equal(DOMAIN_NAME);
      expect(domain.version).to.equal(DOMAIN_VERSION);
    });
  });
});
