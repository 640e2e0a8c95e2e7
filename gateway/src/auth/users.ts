// Accounts in MongoDB: username (unique, case-insensitive), argon2id password hash, profile fields.
import { Schema, type Connection, type Model } from "mongoose";
import type { Database } from "../db.js";

export interface UserDoc {
  username: string;
  /** Lowercased username: the unique key (so "Alice" and "alice" are one account). */
  username_key: string;
  email: string | null;
  full_name: string | null;
  password_hash: string;
  disabled: boolean;
  created_at: Date;
}

const userSchema = new Schema<UserDoc>(
  {
    username: { type: String, required: true },
    username_key: { type: String, required: true },
    email: { type: String, default: null },
    full_name: { type: String, default: null },
    password_hash: { type: String, required: true },
    disabled: { type: Boolean, default: false },
    created_at: { type: Date, required: true },
  },
  { versionKey: false, autoIndex: false, autoCreate: false },
);
userSchema.index({ username_key: 1 }, { unique: true });

export class UserExistsError extends Error {
  override name = "UserExistsError";
}

export class UserStore {
  private model: Model<UserDoc> | undefined;

  constructor(private readonly db: Database) {
    db.onConnect(async (conn: Connection) => {
      const model = conn.model<UserDoc>("User", userSchema, "users");
      await model.createCollection().catch((err: { codeName?: string }) => {
        if (err.codeName !== "NamespaceExists") throw err;
      });
      await model.createIndexes();
      this.model = model;
    });
  }

  private get m(): Model<UserDoc> {
    this.db.require();
    if (!this.model) throw new Error("user store not initialised");
    return this.model;
  }

  async create(u: Omit<UserDoc, "username_key" | "created_at" | "disabled">): Promise<void> {
    try {
      await this.m.collection.insertOne({ ...u, username_key: u.username.toLowerCase(), disabled: false, created_at: new Date() });
    } catch (err) {
      if ((err as { code?: number }).code === 11000) throw new UserExistsError("Username already registered");
      throw err;
    }
  }

  find(username: string): Promise<UserDoc | null> {
    return this.m.findOne({ username_key: username.toLowerCase() }).lean<UserDoc>();
  }

  async setHash(username: string, hash: string): Promise<void> {
    await this.m.updateOne({ username_key: username.toLowerCase() }, { $set: { password_hash: hash } });
  }
}
