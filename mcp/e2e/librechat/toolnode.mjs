// Driving @librechat/agents' ToolNode as LibreChat does, with no model in the loop: shared by
// librechat.test.mjs and cluster.mjs.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const agents = require('@librechat/agents');
const { AIMessage } = require('@langchain/core/messages');

// call runs one tool call through a ToolNode and returns the tool message.
export async function call(node, name, args, threadID = 't1') {
  const ai = new AIMessage({ content: '', tool_calls: [{ id: `call_${Math.random().toString(36).slice(2)}`, name, args }] });
  const out = await node.invoke({ messages: [ai] }, { configurable: { thread_id: threadID } });
  const msgs = Array.isArray(out) ? out : out.messages;
  return msgs[msgs.length - 1];
}

export const text = (m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content));
